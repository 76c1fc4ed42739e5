import { mkdir } from 'node:fs/promises';
import { RecordingCatalog } from '@recstack/catalog';
import { Lifecycle, connectNats, createLogger, createMetricsRegistry, startOpsServer } from '@recstack/service-kit';
import { loadConfig } from './config.js';
import { RecorderMetrics } from './recorder-metrics.js';
import { RecorderService } from './recorder-service.js';

/** Time kept back from the shutdown deadline for closing NATS and the ops server after the recordings. */
const SHUTDOWN_RESERVE_MS = 3000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.service, config.logLevel).child({ recorderId: config.recorderId });
  const lifecycle = new Lifecycle(logger, config.shutdownTimeoutMs);
  lifecycle.handleSignals();

  await mkdir(config.recordingsDir, { recursive: true });
  const nc = await connectNats(config.nats, `recorder ${config.recorderId}`, logger);
  lifecycle.own('nats', () => nc.drain());
  const catalog = await RecordingCatalog.open(nc, logger);

  const registry = createMetricsRegistry(config.service);
  const metrics = new RecorderMetrics(registry);
  const service = new RecorderService(
    nc,
    catalog,
    {
      recorderId: config.recorderId,
      host: config.host,
      maxRecordings: config.maxRecordings,
      plan: { engine: config.engine, recordingsDir: config.recordingsDir, bindAddress: config.bindAddress, maxDurationMs: config.maxDurationMs },
      recording: {
        recorderId: config.recorderId,
        engine: { gstLaunch: config.binaries.gstLaunch, ffmpeg: config.binaries.ffmpeg, jitterLatencyMs: config.jitterLatencyMs, rtpTimeoutMs: config.rtpTimeoutMs },
        tools: { ffmpeg: config.binaries.ffmpeg, ffprobe: config.binaries.ffprobe },
        stopTimeoutMs: config.stopTimeoutMs,
        rtpTimeoutMs: config.rtpTimeoutMs,
        listenTimeoutMs: config.listenTimeoutMs,
        decodeCheckTimeoutMs: config.decodeCheckTimeoutMs,
      },
    },
    metrics,
    logger,
  );
  service.listen();
  lifecycle.own('recorder subscriptions', () => service.close());
  lifecycle.onDrain('recordings', () => service.drain(Date.now() + config.shutdownTimeoutMs - SHUTDOWN_RESERVE_MS));

  const ops = await startOpsServer({
    host: config.ops.host,
    port: config.ops.port,
    registry,
    logger,
    readiness: async () => {
      const connected = !nc.isClosed() && !nc.isDraining();
      const accepting = service.isAccepting;
      return {
        ready: connected && accepting,
        checks: { nats: connected, accepting, active: service.activeCount, capacity: config.maxRecordings },
      };
    },
  });
  lifecycle.own('ops server', () => ops.close());

  logger.info(
    { engine: config.engine, host: config.host, bindAddress: config.bindAddress, recordingsDir: config.recordingsDir, maxRecordings: config.maxRecordings, opsPort: ops.port },
    'service ready',
  );
}

main().catch((err: unknown) => {
  // one line on stderr with the reason (a configuration error names every bad variable), then exit
  process.stderr.write(`recorder failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
