import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The recorder's Prometheus metrics, registered on the process registry. */
export class RecorderMetrics {
  readonly active: Gauge;
  readonly started: Counter;
  readonly finished: Counter<'status' | 'reason'>;
  readonly failed: Counter<'stage' | 'code'>;
  readonly bytesWritten: Counter;
  readonly startToFirstKeyframe: Histogram;
  readonly stopToFinalized: Histogram;
  readonly refused: Counter<'limit'>;
  readonly verified: Counter<'mode' | 'result'>;

  constructor(registry: Registry) {
    this.active = new Gauge({ name: 'recorder_active_recordings', help: 'Recordings whose child process is running or finishing', registers: [registry] });
    this.started = new Counter({ name: 'recorder_recordings_started_total', help: 'Recordings that reached listening', registers: [registry] });
    this.finished = new Counter({
      name: 'recorder_recordings_finished_total',
      help: 'Recordings finalized and reported, by report status and stop reason',
      labelNames: ['status', 'reason'],
      registers: [registry],
    });
    this.failed = new Counter({
      name: 'recorder_recordings_failed_total',
      help: 'Recordings that failed: at start (nothing recorded) or at finish (a failed report)',
      labelNames: ['stage', 'code'],
      registers: [registry],
    });
    this.bytesWritten = new Counter({ name: 'recorder_bytes_written_total', help: 'Bytes of finished recording files', registers: [registry] });
    this.startToFirstKeyframe = new Histogram({
      name: 'recorder_start_to_first_keyframe_seconds',
      help: 'From the start request to the first keyframe written',
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20],
      registers: [registry],
    });
    this.stopToFinalized = new Histogram({
      name: 'recorder_stop_to_finalized_seconds',
      help: 'From the stop (request, RTP timeout, shutdown) to the report of the finalized file',
      buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 40],
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'recorder_starts_refused_total',
      help: 'Starts refused with AT_CAPACITY, by the limit reached (count, cost, cpu)',
      labelNames: ['limit'],
      registers: [registry],
    });
    this.verified = new Counter({
      name: 'recorder_verifications_total',
      help: 'Finished files verified in the background, by mode and result (clean, damaged)',
      labelNames: ['mode', 'result'],
      registers: [registry],
    });
  }

  /** Gauges read when scraped: the admission ledger, the CPU figure and the verification queue. */
  observe(
    registry: Registry,
    read: { loadUnits: () => number; capacityUnits: number; cpuPercent: () => number | undefined; verificationQueue: () => number },
  ): void {
    new Gauge({
      name: 'recorder_load_units',
      help: 'Summed cost of the recordings running, in 1/100 % of a core',
      registers: [registry],
      collect() {
        this.set(read.loadUnits());
      },
    });
    new Gauge({
      name: 'recorder_capacity_units',
      help: 'RECORDER_CAPACITY_UNITS',
      registers: [registry],
      collect() {
        this.set(read.capacityUnits);
      },
    });
    new Gauge({
      name: 'recorder_cpu_percent',
      help: 'CPU busy of the machine or cgroup over the last window, % (what RECORDER_MAX_CPU is compared with)',
      registers: [registry],
      collect() {
        const cpu = read.cpuPercent();
        if (cpu !== undefined) this.set(cpu);
      },
    });
    new Gauge({
      name: 'recorder_verification_queue',
      help: 'Finished files waiting for or in background verification',
      registers: [registry],
      collect() {
        this.set(read.verificationQueue());
      },
    });
  }
}
