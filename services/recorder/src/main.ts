import { mkdir } from 'node:fs/promises';
import { RecordingCatalog, openRecordingFiles } from '@recstack/catalog';
import { Lifecycle, connectNats, createLogger, createMetricsRegistry, startOpsServer } from '@recstack/service-kit';
import { Admission } from './admission/admission.js';
import { CpuGauge, systemCpuReader } from './admission/cpu-usage.js';
import { loadConfig } from './config.js';
import { decodeFile } from './finalize/file-probe.js';
import { RecorderMetrics } from './recorder-metrics.js';
import { RecorderService } from './recorder-service.js';
import { CatalogReconciler } from './recovery/catalog-reconciler.js';
import type { SalvageSettings } from './recovery/salvage.js';
import { registerFreeSpaceGauge } from './storage/disk-metrics.js';
import { isRefusedChunkPublish } from './storage/object-upload.js';
import { RecordingStorage } from './storage/recording-storage.js';
import { StorageMetrics } from './storage/storage-metrics.js';
import { VerificationQueue } from './verification/verification-queue.js';

/** Time kept back from the shutdown deadline for closing NATS and the ops server after the recordings. */
const SHUTDOWN_RESERVE_MS = 3000;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const logger = createLogger(config.service, config.logLevel).child({ recorderId: config.recorderId });
  const lifecycle = new Lifecycle(logger, config.shutdownTimeoutMs);
  lifecycle.handleSignals();
  process.on('unhandledRejection', (reason) => {
    if (isRefusedChunkPublish(reason)) {
      logger.debug({ err: reason }, 'object store refused a chunk (the upload reports it)');
      return;
    }
    // the process state is unknown: finalize what can be finalized, then leave (as Node would, without the handler)
    logger.fatal({ err: reason }, 'unhandled rejection');
    void lifecycle.stop().finally(() => process.exit(1));
  });

  await mkdir(config.recordingsDir, { recursive: true });
  const nc = await connectNats(config.nats, `recorder ${config.recorderId}`, logger);
  lifecycle.own('nats', () => nc.drain());
  const catalog = await RecordingCatalog.open(nc, logger, { replicas: config.kvReplicas });
  const objects =
    config.storage.kind === 'nats' ? await openRecordingFiles(nc, logger, { replicas: config.kvReplicas, maxBytes: config.storage.maxBytes }) : undefined;

  const registry = createMetricsRegistry(config.service);
  const metrics = new RecorderMetrics(registry);
  registerFreeSpaceGauge(registry, config.recordingsDir);
  const salvage: SalvageSettings = {
    recorderId: config.recorderId,
    recordingsDir: config.recordingsDir,
    engine: config.engine,
    bindAddress: config.bindAddress,
    maxDurationMs: config.maxDurationMs,
    tools: { ffmpeg: config.binaries.ffmpeg, ffprobe: config.binaries.ffprobe },
    keepFreeBytes: config.disk.stopFreeBytes,
    verify: config.verify.mode !== 'off',
  };
  // the storage tells the service when a background upload verified; the service exists by then
  let service: RecorderService | undefined;
  const storage = new RecordingStorage(
    nc,
    objects,
    { kind: config.storage.kind, recordingsDir: config.recordingsDir, uploadWaitMs: config.storage.uploadWaitMs, retryMaxMs: config.storage.retryMaxMs },
    new StorageMetrics(registry),
    logger.child({ component: 'storage' }),
    (file) => (service ? service.onUploaded(file) : Promise.reject(new Error('not ready'))),
  );
  const cpu = new CpuGauge(systemCpuReader(), config.admission.cpuWindowMs);
  cpu.start();
  lifecycle.own('cpu gauge', () => cpu.close());
  const admission = new Admission({ ...config.admission, maxRecordings: config.maxRecordings }, () => cpu.percent);
  const tools = { ffmpeg: config.binaries.ffmpeg, ffprobe: config.binaries.ffprobe };
  // the lowest priority there is: verification takes only what live recordings and media leave
  const verification = new VerificationQueue(
    { mode: config.verify.mode, concurrency: config.verify.concurrency, timeoutMs: config.decodeCheckTimeoutMs },
    (path, budgetMs, mode, signal, pause) => decodeFile(path, tools, budgetMs, mode, { nice: 19, ioIdle: true, cpuIdle: true, signal, pause }),
    (result) => (service ? service.verified(result) : Promise.resolve()),
    logger.child({ component: 'verification' }),
  );
  lifecycle.own('verification', () => verification.close());
  metrics.observe(registry, {
    loadUnits: () => admission.loadUnits,
    capacityUnits: config.admission.capacityUnits,
    cpuPercent: () => cpu.percent,
    verificationQueue: () => verification.size,
  });
  service = new RecorderService(
    nc,
    catalog,
    {
      recorderId: config.recorderId,
      host: config.host,
      plan: { engine: config.engine, recordingsDir: config.recordingsDir, bindAddress: config.bindAddress, maxDurationMs: config.maxDurationMs },
      recording: {
        recorderId: config.recorderId,
        engine: {
          gstLaunch: config.binaries.gstLaunch,
          ffmpeg: config.binaries.ffmpeg,
          jitterLatencyMs: config.jitterLatencyMs,
          jitterMode: config.jitterMode,
          rtpTimeoutMs: config.rtpTimeoutMs,
        },
        tools: { ffmpeg: config.binaries.ffmpeg, ffprobe: config.binaries.ffprobe },
        stopTimeoutMs: config.stopTimeoutMs,
        rtpTimeoutMs: config.rtpTimeoutMs,
        listenTimeoutMs: config.listenTimeoutMs,
        keepFreeBytes: config.disk.stopFreeBytes,
        verify: config.verify.mode !== 'off',
        childNice: config.childNice,
      },
      salvage,
      disk: config.disk,
    },
    metrics,
    logger,
    storage,
    admission,
    verification,
  );
  const recorder = service;
  recorder.listen();
  lifecycle.own('recorder subscriptions', () => recorder.close());

  // what a predecessor on this folder left (orphaned children, unfinished files), then the periodic look
  const reconciler = new CatalogReconciler(
    nc,
    catalog,
    recorder,
    storage,
    {
      intervalMs: config.reconcile.intervalMs,
      graceMs: config.reconcile.graceMs,
      orphanStop: { eosMs: config.stopTimeoutMs, termMs: Math.max(1000, Math.round(config.stopTimeoutMs / 2)) },
      tools: [config.binaries.gstLaunch, config.binaries.ffmpeg],
      salvage,
      sameIdSince: config.recorderIdConfigured ? startedAt : undefined,
    },
    logger.child({ component: 'reconciler' }),
  );
  void reconciler.start();
  lifecycle.own('reconciler', () => reconciler.close());
  lifecycle.onDrain('recordings', async () => {
    await reconciler.close();
    // the handover's wait is part of the shutdown deadline: whatever is left after it is finished here
    if (config.drain.mode === 'handover') {
      const waitMs = Math.min(config.drain.handoverWaitMs, Math.max(0, config.shutdownTimeoutMs - SHUTDOWN_RESERVE_MS - config.stopTimeoutMs));
      await recorder.handOver(waitMs, Date.now() + config.shutdownTimeoutMs - SHUTDOWN_RESERVE_MS);
    }
    await recorder.drain(Date.now() + config.shutdownTimeoutMs - SHUTDOWN_RESERVE_MS);
  });

  const ops = await startOpsServer({
    host: config.ops.host,
    port: config.ops.port,
    registry,
    logger,
    readiness: async () => {
      const connected = !nc.isClosed() && !nc.isDraining();
      const accepting = recorder.isAccepting;
      return {
        ready: connected && accepting,
        checks: { nats: connected, accepting, active: recorder.activeCount, capacity: config.maxRecordings },
      };
    },
  });
  lifecycle.own('ops server', () => ops.close());

  logger.info(
    {
      engine: config.engine,
      host: config.host,
      bindAddress: config.bindAddress,
      recordingsDir: config.recordingsDir,
      maxRecordings: config.maxRecordings,
      capacityUnits: config.admission.capacityUnits,
      maxCpuPercent: config.admission.maxCpuPercent,
      verify: config.verify.mode,
      childNice: config.childNice,
      storage: config.storage.kind,
      disk: config.disk,
      kvReplicas: config.kvReplicas,
      opsPort: ops.port,
    },
    'service ready',
  );
}

main().catch((err: unknown) => {
  // one line on stderr with the reason (a configuration error names every bad variable), then exit
  process.stderr.write(`recorder failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
