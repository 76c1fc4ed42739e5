export * from './ports.js';
export * from './nats-server.js';
export * from './media-checks.js';
export * from './chromium.js';
export * from './service-process.js';
export * from './stack.js';
export * from './whip-publisher.js';
export * from './rtp-publisher.js';
