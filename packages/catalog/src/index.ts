export * from './recording-catalog.js';
export * from './transitions.js';
