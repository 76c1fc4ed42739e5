// What the tests take from the kit, listed by the file that defines it; helpers not listed stay internal.
// ports.ts
export { freeTcpPort, freeUdpRange, type PortRange } from './ports.js';
// nats-server.ts
export {
  type NatsClusterOptions,
  type NatsCredentials,
  startNatsCluster,
  startNatsServer,
  type TestNatsCluster,
  type TestNatsNode,
  type TestNatsServer,
} from './nats-server.js';
// media-checks.ts
export {
  type DamagedStretch,
  damagedStretches,
  decodeErrors,
  firstVideoFrameIsKeyframe,
  longestDamagedStretch,
  type FrameSize,
  longestVideoGap,
  probe,
  type ProbeResult,
  runChecksInBackground,
  type VideoGap,
  videoFrameSizes,
} from './media-checks.js';
// chromium.ts
export { CHROMIUM_PATH, launchChromium, type TestBrowser } from './chromium.js';
// service-process.ts
export { REPO_ROOT, type ServiceName, type ServiceProcess, startService } from './service-process.js';
// stack.ts
export { type StackOptions, startStack, type TestStack } from './stack.js';
// whip-publisher.ts
export { publishWhip, type WhipPublishOptions, type WhipSession } from './whip-publisher.js';
// rtp-publisher.ts
export {
  CHANGING_RESOLUTIONS,
  DEFAULT_AUDIO_PAYLOAD_TYPE,
  DEFAULT_VIDEO_PAYLOAD_TYPE,
  type PublisherVideoCodec,
  type Resolution,
  type RtpPublisher,
  type RtpPublisherOptions,
  startAv1RtpPublisher,
  startRtpPublisher,
} from './rtp-publisher.js';
// marker-publisher.ts
export { localRecording, type MarkerPublishOptions, type MarkerSession, publishMarkerWhip, startMarkers, stopMarkers } from './marker-publisher.js';
// av-markers.ts
export { type AvSyncMeasurement, type MarkerPair, measureAvSync, onsets, pairMarkers } from './av-markers.js';
// rtp-replay.ts
export { type ReplayOptions, type ReplayStats, type ReplayTarget, type RtpDump, RtpReplay, shiftVideoFrames, splitRfc4571 } from './rtp-replay.js';
// marker-dump.ts
export { makeMarkerDump, type MarkerDump, type MarkerDumpOptions } from './marker-dump.js';
// av1-rtp-relay.ts
export { Av1Packetizer, type Av1Relay, startAv1Relay, XGstDepacketizer } from './av1-rtp-relay.js';
// proc-stats.ts
export { parseProcStat, parseVmHwm, percentile, ProcessSampler, readProcTable, reapedChildrenCpu, treeCpuSeconds, treeRssBytes } from './proc-stats.js';
// stack-client.ts
export { StackClient } from './stack-client.js';
// udp-relay.ts
export {
  type Impairment,
  ImpairmentModel,
  type RelayStats,
  rtpPayloadTypeIs,
  startUdpRelay,
  type UdpRelay,
  type UdpRelayOptions,
  type Verdict,
} from './udp-relay.js';
// replay-media.ts
export { ensureReplayMedia, gstFileOnce, type ReplayMedia, type ReplayMediaSpec } from './replay-media.js';
// replay-publisher.ts
export { type PublisherStats, ReplayPublisher, type ReplayPublisherOptions, WhipRefusedError, type WhipTarget } from './replay-publisher.js';
// replay-schedule.ts
export { AudioSchedule, VideoSchedule, type VideoScheduleOptions } from './replay-schedule.js';
// manual-clock.ts
export { ManualClock, settle } from './manual-clock.js';
// raw-http.ts
export { type LargeBodyOptions, rawRequest, type RawResponse, sendLargeBody } from './raw-http.js';
// route-spellings.ts
export { type ApiOperation, assertNoSpellingServed, fillPath, pathSpellings, protectedOperations, type SpellingTableOptions } from './route-spellings.js';
