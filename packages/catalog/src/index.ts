// The catalog's public surface, listed by the file that defines it; helpers not listed stay internal.
// recording-catalog.ts
export { type CatalogChange, CatalogConflictError, CatalogUnavailableError, RecordingCatalog, RecordingExistsError } from './recording-catalog.js';
// transitions.ts
export {
  addSegment,
  applyFileCheck,
  applyIngestStats,
  applyReport,
  applySalvageReport,
  claimRecording,
  markFailed,
  markFirstKeyframe,
  markPlaced,
  markStopping,
  markStored,
  newRecording,
  type NewRecordingInput,
} from './transitions.js';
// recording-files-bucket.ts
export { openRecordingFiles, RECORDING_FILES_STREAM } from './recording-files-bucket.js';
// bucket-replicas.ts
export { ensureReplicas } from './bucket-replicas.js';
