/**
 * The media service: terminates WebRTC publishers (Medooze, ICE-lite, DTLS-SRTP) and forwards their
 * media as plain RTP to recorders. Wires the modules, owns the Lifecycle and handles SIGTERM/SIGINT:
 * stop taking sessions, finalize every recording, close sessions, stop Medooze, exit.
 */
import { Events, type NatsConnection } from 'nats';
import { RecorderDrainingSchema, RecorderLostSchema, subjects } from '@recstack/contracts';
import { RecordingCatalog } from '@recstack/catalog';
import { ConfigError, Lifecycle, connectNats, subscribeEvents, createLogger, createMetricsRegistry, startOpsServer, type Logger } from '@recstack/service-kit';
import { loadConfig, type MediaConfig } from './config.js';
import { CpuUsage } from './placement/cpu-usage.js';
import { IngestMonitor } from './placement/ingest-load.js';
import { MediaMetrics } from './media-metrics.js';
import { MediaService } from './media-service.js';
import { serveMediaApi } from './nats-api.js';
import { PortAllocator } from './recording/port-allocator.js';
import { RecorderClient } from './recording/recorder-client.js';
import { RecorderPlacement } from './placement/recorder-placement.js';
import { SessionStore } from './session-store.js';
import { checkSocketBuffers, readSocketBufferSettings } from './webrtc/socket-buffers.js';
import { udpDropsByPort } from './webrtc/udp-socket-stats.js';
import { WebRtcEndpoint } from './webrtc/webrtc-endpoint.js';

/** the recorder's report must arrive this long before the process's shutdown deadline */
const SHUTDOWN_MARGIN_MS = 3000;
/** how often media asks the recorders for their load (it counts its own placements in between) */
const RECORDER_LOAD_REFRESH_MS = 2000;
const RECORDER_LOAD_PING_WAIT_MS = 250;
/** how often media measures its own ingest (packet rate, CPU, socket drops) for admission and its pong */
const INGEST_SAMPLE_MS = 2000;

async function run(config: MediaConfig, logger: Logger, lifecycle: Lifecycle): Promise<void> {
  const nc = await connectNats(config.nats, `media ${config.mediaId}`, logger);
  lifecycle.own('nats', async () => {
    if (!nc.isClosed()) await nc.drain();
  });
  const catalog = await RecordingCatalog.open(nc, logger, { replicas: config.kvReplicas });
  const store = await SessionStore.open(nc, { ttlMs: config.sessionEntryTtlMs, replicas: config.kvReplicas }, logger);

  warnAboutSocketBuffers(logger);
  const endpoint = WebRtcEndpoint.open(
    {
      publicIp: config.publicIp,
      udpPorts: config.udpPorts,
      count: config.endpoints,
      nativeLog: config.medoozeLog,
      publisherIceTimeoutMs: config.publisherIceTimeoutMs,
      publisherConnectTimeoutMs: config.publisherConnectTimeoutMs,
      maxVideoKbps: config.maxVideoKbps,
      nackWaitMs: config.nackWaitMs,
    },
    logger,
  );
  lifecycle.own('webrtc endpoint', () => endpoint.close());
  const dropsByPort = () => new Map([...udpDropsByPort(endpoint.localPorts)].map(([port, line]) => [port, line.drops]));

  const ports = new PortAllocator({ min: config.recorderPorts.min, max: config.recorderPorts.max, quarantineMs: config.portQuarantineMs });
  const placement = new RecorderPlacement(nc, logger, { refreshMs: RECORDER_LOAD_REFRESH_MS, pingWaitMs: RECORDER_LOAD_PING_WAIT_MS });
  placement.start();
  lifecycle.own('recorder placement', () => placement.close());
  const recorder = new RecorderClient(nc, config.recorderStartTimeoutMs, placement);
  const registry = createMetricsRegistry('media');
  // the metrics read the service at scrape time; it exists by the time anything scrapes
  let service: MediaService | undefined;
  const cpu = new CpuUsage();
  const ingest = new IngestMonitor(
    {
      packetsBySession: () => service?.packetsBySession() ?? Promise.resolve(new Map()),
      cpuPercent: () => cpu.sample(),
      udpDrops: () => [...dropsByPort().values()].reduce((a, b) => a + b, 0),
    },
    logger.child({ component: 'ingest' }),
    INGEST_SAMPLE_MS,
  );
  const metrics = new MediaMetrics(registry, {
    sessions: () => service?.sessionCount ?? 0,
    recordings: () => service?.recordingCount ?? 0,
    portsInUse: () => ports.inUseCount,
    portsQuarantined: () => ports.quarantinedCount,
    trackStats: () => service?.trackStats() ?? Promise.resolve([]),
    udpDrops: dropsByPort,
    sessionsPerEndpoint: () => new Map(endpoint.localPorts.map((port, i) => [port, endpoint.sessionsPerEndpoint[i] ?? 0])),
    ingest: () => ingest.current,
  });
  const media = new MediaService(
    {
      mediaId: config.mediaId,
      maxSessions: config.maxSessions,
      maxPacketsPerSecond: config.maxPacketsPerSecond,
      maxCpuPercent: config.maxCpuPercent,
      keyframeIntervalMs: config.keyframeIntervalMs,
      recorderStartAttempts: config.recorderStartAttempts,
      recordingStopTimeoutMs: config.recordingStopTimeoutMs,
      recorderLostGraceMs: config.recorderLostGraceMs,
      recorderLostWaitMs: config.recorderLostWaitMs,
      recorderNetworks: config.recorderNetworks,
      shutdownStopTimeoutMs: Math.max(1000, Math.min(config.recordingStopTimeoutMs, config.shutdownTimeoutMs - SHUTDOWN_MARGIN_MS)),
    },
    { nc, endpoint, ingest, store, recorder, ports, catalog, metrics, logger },
  );
  service = media;
  ingest.start();
  lifecycle.own('ingest monitor', () => ingest.close());

  const ops = await startOpsServer({
    host: config.ops.host,
    port: config.ops.port,
    registry,
    logger,
    readiness: async () => {
      const natsUp = await natsAnswers(nc, 1000);
      return {
        ready: natsUp && media.isAccepting,
        checks: { nats: natsUp, accepting: media.isAccepting, sessions: media.sessionCount, recordings: media.recordingCount },
      };
    },
  });
  lifecycle.own('ops server', () => ops.close());

  const api = serveMediaApi(nc, config.mediaId, media, logger);
  lifecycle.own('nats subscriptions', () => api.close());

  store.startRefreshing(() => media.sessionEntries(), Math.max(1000, Math.floor(config.sessionEntryTtlMs / 3)));
  lifecycle.own('session entry refresh', () => store.stopRefreshing());

  const draining = subscribeEvents(nc, subjects.recorder.draining, RecorderDrainingSchema, (e) => media.onRecorderDraining(e.recorderId), logger);
  lifecycle.own('recorder drain subscription', () => draining.unsubscribe());
  const lost = subscribeEvents(nc, subjects.recorder.lost, RecorderLostSchema, (e) => media.onRecordersLost(e), logger);
  lifecycle.own('recorder lost subscription', () => lost.unsubscribe());
  void followNatsStatus(nc, (up) => media.natsConnection(up));

  const watchdog = setInterval(() => void media.checkRecorders(), config.recorderCheckIntervalMs);
  watchdog.unref();
  lifecycle.own('recorder watchdog', () => clearInterval(watchdog));

  // closed first: finalizes every recording and closes every session while NATS and Medooze still run
  lifecycle.own('sessions', () => media.shutdown());
  lifecycle.onDrain('stop taking sessions', () => {
    api.stopTakingSessions();
    media.stopAccepting();
  });

  // a port per endpoint, and an RTP and an RTCP port per recorded track (Streamer sessions)
  const portsForAllRecordings = config.endpoints + 4 * config.maxSessions;
  if (config.udpPorts.max - config.udpPorts.min + 1 < portsForAllRecordings) {
    logger.warn(
      { udpPorts: config.udpPorts, maxSessions: config.maxSessions, needed: portsForAllRecordings },
      'the UDP port range cannot hold a recording of every session at once',
    );
  }
  logger.info(
    {
      publicIp: config.publicIp,
      webrtcPorts: endpoint.localPorts,
      udpPorts: config.udpPorts,
      recorderPorts: config.recorderPorts,
      maxSessions: config.maxSessions,
      maxPacketsPerSecond: config.maxPacketsPerSecond,
      maxCpuPercent: config.maxCpuPercent,
      cpuScope: cpu.scope,
      opsPort: ops.port,
    },
    'service ready',
  );
}

/**
 * Medooze's sockets get the kernel's default receive buffer: too small, and packets are dropped there
 * under load. A host-wide setting (containers see the host's value and cannot change it), so media only
 * says what to run.
 */
function warnAboutSocketBuffers(logger: Logger): void {
  const settings = readSocketBufferSettings();
  if (!settings) return;
  const check = checkSocketBuffers(settings);
  if (check.ok) logger.info(settings, 'socket receive buffers');
  else logger.warn({ ...settings, fix: check.fix }, 'socket receive buffers are small: packets will be dropped under load; as root on the host run the fix');
}

/** A PING/PONG round trip to the NATS server within `ms`. */
async function natsAnswers(nc: NatsConnection, ms: number): Promise<boolean> {
  if (nc.isClosed()) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      nc.flush().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function main(): void {
  let config: MediaConfig;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`media: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const logger = createLogger('media', config.logLevel).child({ mediaId: config.mediaId });
  const lifecycle = new Lifecycle(logger, config.shutdownTimeoutMs);
  lifecycle.handleSignals();
  const fatal = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, kind);
    // finalize what can be finalized, then leave: the process state is unknown
    void lifecycle.stop().finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
  run(config, logger, lifecycle).catch((err: unknown) => {
    logger.fatal({ err }, 'start failed');
    void lifecycle.stop().finally(() => process.exit(1));
  });
}

main();

/** Tells whether the connection is up, from nats.js status events (a reconnect is not a new connection). */
async function followNatsStatus(nc: NatsConnection, onChange: (up: boolean) => void): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === Events.Disconnect) onChange(false);
    else if (status.type === Events.Reconnect) onChange(true);
  }
}
