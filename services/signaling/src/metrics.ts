import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '@recstack/service-kit';

/** Everything signaling exposes on /metrics. One instance per process (or per in-process test app). */
export class SignalingMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly backendRequests: Counter<'subject' | 'outcome'>;
  readonly backendDuration: Histogram<'subject'>;
  readonly sessionsCreated: Counter<'result'>;
  readonly sessionsClosed: Counter<'result'>;
  readonly recordingsStarted: Counter<'result'>;
  readonly recordingsStopped: Counter<'result'>;
  readonly recordingsEnded: Counter<'status'>;
  readonly firstKeyframe: Histogram;
  readonly stopToFinalized: Histogram;
  readonly recordings: Gauge<'status'>;
  readonly wsClients: Gauge;
  readonly wsMessages: Counter;
  readonly webhookDeliveries: Counter<'result'>;
  readonly rateLimited: Counter;

  constructor(countByStatus: () => Record<string, number>, wsClientCount: () => number, registry: Registry = createMetricsRegistry('signaling')) {
    this.registry = registry;
    const registers = [registry];
    this.httpRequests = new Counter({
      name: 'signaling_http_requests_total',
      help: 'HTTP requests answered',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'signaling_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.backendRequests = new Counter({
      name: 'signaling_backend_requests_total',
      help: 'NATS requests to media and recorders, by outcome',
      labelNames: ['subject', 'outcome'],
      registers,
    });
    this.backendDuration = new Histogram({
      name: 'signaling_backend_request_duration_seconds',
      help: 'Time until media or a recorder answered',
      labelNames: ['subject'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.sessionsCreated = new Counter({
      name: 'signaling_whip_sessions_created_total',
      help: 'WHIP offers answered, by result',
      labelNames: ['result'],
      registers,
    });
    this.sessionsClosed = new Counter({
      name: 'signaling_whip_sessions_closed_total',
      help: 'WHIP sessions ended by DELETE, by result',
      labelNames: ['result'],
      registers,
    });
    this.recordingsStarted = new Counter({
      name: 'signaling_recordings_started_total',
      help: 'Recording start requests, by result',
      labelNames: ['result'],
      registers,
    });
    this.recordingsStopped = new Counter({
      name: 'signaling_recordings_stopped_total',
      help: 'Recording stop requests, by result',
      labelNames: ['result'],
      registers,
    });
    this.recordingsEnded = new Counter({
      name: 'signaling_recordings_ended_total',
      help: 'Recordings that reached done or failed, as seen in the catalog',
      labelNames: ['status'],
      registers,
    });
    this.firstKeyframe = new Histogram({
      name: 'signaling_recording_first_keyframe_seconds',
      help: 'From the start request to the first keyframe written',
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20],
      registers,
    });
    this.stopToFinalized = new Histogram({
      name: 'signaling_recording_stop_to_finalized_seconds',
      help: 'From a stop request to the finalized file',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.recordings = new Gauge({
      name: 'signaling_recordings',
      help: 'Recordings in the catalog, by status',
      labelNames: ['status'],
      registers,
      collect() {
        for (const [status, count] of Object.entries(countByStatus())) this.set({ status }, count);
      },
    });
    this.wsClients = new Gauge({
      name: 'signaling_ws_clients',
      help: 'Connected WebSocket clients',
      registers,
      collect() {
        this.set(wsClientCount());
      },
    });
    this.wsMessages = new Counter({ name: 'signaling_ws_messages_sent_total', help: 'Events pushed to WebSocket clients', registers });
    this.webhookDeliveries = new Counter({
      name: 'signaling_webhook_deliveries_total',
      help: 'Webhook attempts, by result',
      labelNames: ['result'],
      registers,
    });
    this.rateLimited = new Counter({ name: 'signaling_rate_limited_total', help: 'Requests refused by the rate limit', registers });
  }

  observeBackend = (subject: string, outcome: string, seconds: number): void => {
    this.backendRequests.inc({ subject, outcome });
    this.backendDuration.observe({ subject }, seconds);
  };
}
