// Media's public entry for tools outside the service (scripts/run-local.ts): the check of the kernel's UDP
// receive buffers media makes at start, and the commands that raise them. The service starts from main.ts.

// socket-buffers.ts
export { checkSocketBuffers, raiseSocketBuffers, readSocketBufferSettings } from './webrtc/socket-buffers.js';
