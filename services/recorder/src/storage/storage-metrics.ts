import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Metrics of uploads to the object store (STORAGE=nats). */
export class StorageMetrics {
  readonly uploads: Counter<'result'>;
  readonly uploadSeconds: Histogram;
  readonly uploadedBytes: Counter;
  readonly pending: Gauge;

  constructor(registry: Registry) {
    this.uploads = new Counter({
      name: 'recorder_uploads_total',
      help: 'Upload attempts to the object store, by result (ok = verified)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.uploadSeconds = new Histogram({
      name: 'recorder_upload_seconds',
      help: 'Time to upload and verify one recording file',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.uploadedBytes = new Counter({ name: 'recorder_uploaded_bytes_total', help: 'Bytes uploaded and verified', registers: [registry] });
    this.pending = new Gauge({
      name: 'recorder_uploads_pending',
      help: 'Finished recordings whose upload is being retried (files still local)',
      registers: [registry],
    });
  }
}
