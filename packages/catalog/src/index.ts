export * from './recording-catalog.js';
export * from './transitions.js';
export * from './recording-files-bucket.js';
export * from './bucket-replicas.js';
