import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IngestLoad } from './placement/ingest-load.js';
import type { TrackReceiveStats } from './webrtc/publisher-connection.js';
import type { SessionTrackStats } from './media-service.js';
import type { RecordingMetrics } from './recording/recording-relay.js';

/** What the metrics read from the service at scrape time. */
export interface MetricsSource {
  sessions(): number;
  recordings(): number;
  portsInUse(): number;
  portsQuarantined(): number;
  trackStats(): Promise<SessionTrackStats[]>;
  /** drops counted by the kernel at each endpoint socket, by local port */
  udpDrops(): Map<number, number>;
  /** sessions per endpoint, by local port */
  sessionsPerEndpoint(): Map<number, number>;
  ingest(): IngestLoad;
}

const STATS_CACHE_MS = 500;

/**
 * The media service's Prometheus metrics. Counters are bumped by the code that sees the event; gauges
 * (including per-session receive figures from Medooze's track stats) are read from the service when
 * scraped. Per-session series carry a `session_id` label and disappear with the session.
 */
export class MediaMetrics implements RecordingMetrics {
  private readonly keyframeRequests: Counter;
  private readonly gapKeyframeRequests: Counter;
  private readonly startRetries: Counter<'code'>;
  private readonly firstKeyframeSeconds: Histogram;
  private readonly sessionsCreated: Counter;
  private readonly sessionsRejected: Counter<'code'>;
  private readonly sessionsClosed: Counter<'reason'>;
  private readonly recordingsStarted: Counter;
  private readonly recordingsEnded: Counter<'outcome'>;
  private statsCache: { at: number; value: Promise<SessionTrackStats[]> } | undefined;

  constructor(registry: Registry, source: MetricsSource) {
    const registers = [registry];
    const trackStats = async () => {
      const now = Date.now();
      if (!this.statsCache || now - this.statsCache.at > STATS_CACHE_MS) this.statsCache = { at: now, value: source.trackStats() };
      return this.statsCache.value;
    };
    const perTrack = (name: string, help: string, pick: (t: TrackReceiveStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['session_id', 'kind', 'codec'] as const,
        registers,
        async collect() {
          this.reset();
          for (const { sessionId, tracks } of await trackStats()) {
            for (const t of tracks) this.set({ session_id: sessionId, kind: t.kind, codec: t.codec }, pick(t));
          }
        },
      });

    new Gauge({
      name: 'media_sessions_active',
      help: 'Publisher sessions held by this instance',
      registers,
      collect() {
        this.set(source.sessions());
      },
    });
    new Gauge({
      name: 'media_recordings_active',
      help: 'Recordings being started, running or finalizing',
      registers,
      collect() {
        this.set(source.recordings());
      },
    });
    new Gauge({
      name: 'media_recorder_ports_in_use',
      help: 'Recorder RTP ports handed out',
      registers,
      collect() {
        this.set(source.portsInUse());
      },
    });
    new Gauge({
      name: 'media_recorder_ports_quarantined',
      help: 'Recorder RTP ports kept out of use for a while',
      registers,
      collect() {
        this.set(source.portsQuarantined());
      },
    });
    perTrack('media_track_packets_received', 'RTP packets received from the publisher (media + RTX)', (t) => t.packetsReceived);
    perTrack('media_track_packets_lost', 'RTP packets lost between the publisher and this instance', (t) => t.packetsLost);
    perTrack('media_track_nacks_sent', 'NACKs sent to the publisher', (t) => t.nacksSent);
    perTrack('media_track_plis_sent', 'PLIs (keyframe requests) sent to the publisher', (t) => t.plisSent);
    perTrack('media_track_bitrate_bps', 'Media bitrate received during the last second', (t) => t.bitrateBps);
    perTrack('media_track_rtt_ms', 'Round-trip time to the publisher', (t) => t.rttMs);
    new Gauge({
      name: 'media_recording_packets_lost',
      help: 'RTP packets lost between the publisher and this instance since the recording started (lost for the file)',
      labelNames: ['recording_id', 'session_id', 'kind'] as const,
      registers,
      async collect() {
        this.reset();
        for (const { sessionId, tracks, recording } of await trackStats()) {
          if (!recording) continue;
          for (const t of tracks) {
            const lost = Math.max(0, t.packetsLost - (recording.lostAtStart.get(t.kind) ?? 0));
            this.set({ recording_id: recording.recordingId, session_id: sessionId, kind: t.kind }, lost);
          }
        }
      },
    });
    // a gauge of the kernel's own counter: it resets only when the socket is reopened (a media restart)
    new Gauge({
      name: 'media_udp_receive_drops',
      help: 'Datagrams the kernel dropped at an endpoint socket since it was opened (receive buffer full: lost for the file)',
      labelNames: ['port'] as const,
      registers,
      collect() {
        this.reset();
        for (const [port, drops] of source.udpDrops()) this.set({ port: String(port) }, drops);
      },
    });
    new Gauge({
      name: 'media_endpoint_sessions',
      help: 'Publisher sessions held by each endpoint (UDP socket and thread)',
      labelNames: ['port'] as const,
      registers,
      collect() {
        this.reset();
        for (const [port, n] of source.sessionsPerEndpoint()) this.set({ port: String(port) }, n);
      },
    });
    new Gauge({
      name: 'media_ingest_packets_per_second',
      help: 'RTP packets per second received from all publishers, measured',
      registers,
      collect() {
        this.set(source.ingest().packetsPerSecond);
      },
    });
    new Gauge({
      name: 'media_cpu_percent',
      help: 'CPU busy in percent, of the cgroup CPU limit or the machine (what MEDIA_MAX_CPU compares)',
      registers,
      collect() {
        const cpu = source.ingest().cpuPercent;
        if (cpu === undefined) this.reset();
        else this.set(cpu);
      },
    });

    this.keyframeRequests = new Counter({
      name: 'media_keyframe_requests_total',
      help: "Keyframe requests sent while waiting for a recording's first keyframe",
      registers,
    });
    this.gapKeyframeRequests = new Counter({
      name: 'media_gap_keyframe_requests_total',
      help: 'Keyframe requests sent because a recorded video packet was given up after the NACK hold (an unrepaired gap)',
      registers,
    });
    this.startRetries = new Counter({
      name: 'media_recorder_start_retries_total',
      help: 'recorder.v1.start attempts repeated, by the error that caused it',
      labelNames: ['code'] as const,
      registers,
    });
    this.firstKeyframeSeconds = new Histogram({
      name: 'media_first_keyframe_seconds',
      help: 'Time from the recorder listening to its first keyframe written',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.sessionsCreated = new Counter({ name: 'media_sessions_created_total', help: 'Publisher sessions created', registers });
    this.sessionsRejected = new Counter({
      name: 'media_sessions_rejected_total',
      help: 'Session offers refused, by error code',
      labelNames: ['code'] as const,
      registers,
    });
    this.sessionsClosed = new Counter({
      name: 'media_sessions_closed_total',
      help: 'Publisher sessions closed, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.recordingsStarted = new Counter({ name: 'media_recordings_started_total', help: 'Recordings the recorder listens for', registers });
    this.recordingsEnded = new Counter({
      name: 'media_recordings_ended_total',
      help: 'Recordings ended, by outcome (done, failed or an error code)',
      labelNames: ['outcome'] as const,
      registers,
    });
  }

  keyframeRequested(): void {
    this.keyframeRequests.inc();
  }

  gapKeyframeRequested(): void {
    this.gapKeyframeRequests.inc();
  }

  startRetried(code: string): void {
    this.startRetries.inc({ code });
  }

  firstKeyframe(msSinceListening: number): void {
    this.firstKeyframeSeconds.observe(msSinceListening / 1000);
  }

  sessionCreated(): void {
    this.sessionsCreated.inc();
  }

  sessionRejected(code: string): void {
    this.sessionsRejected.inc({ code });
  }

  sessionClosed(reason: string): void {
    this.sessionsClosed.inc({ reason });
  }

  recordingStarted(): void {
    this.recordingsStarted.inc();
  }

  recordingEnded(outcome: string): void {
    this.recordingsEnded.inc({ outcome });
  }
}
