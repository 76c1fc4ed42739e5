// The recorder's public entry for tools outside the service (bench/, scripts/): how a recording is planned and its
// child launched exactly as the service does it, and the checks of a finished file. The service itself
// starts from main.ts.

// config.ts
export { loadConfig, type RecorderConfig } from './config.js';
// recording-plan.ts
export { planRecording, type RecordingPlan } from './recording-plan.js';
// engine/engine.ts
export { childLaunch } from './engine/engine.js';
// udp-ports.ts
export { portsBoundBy } from './udp-ports.js';
// finalize/file-finalizer.ts
export { finalizeFile } from './finalize/file-finalizer.js';
// finalize/file-probe.ts
export { decodeFile, probeFile } from './finalize/file-probe.js';
// finalize/file-stats.ts: the ffprobe read a stop made before it read MP4s in process (scripts/probe-timing.ts)
export { probeTrackStats } from './finalize/file-stats.js';
