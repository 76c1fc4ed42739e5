import { createSocket, type Socket } from 'node:dgram';

/** RTP packets of one video and one audio stream, in sending order (their timestamps give the timing). */
export interface RtpDump {
  video: Buffer[];
  audio: Buffer[];
  seconds: number;
}

/** RFC 4571 framing (what `rtpstreampay` writes): [2-byte big-endian length][packet]... */
export function splitRfc4571(data: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let offset = 0;
  while (offset + 2 <= data.length) {
    const length = data.readUInt16BE(offset);
    if (offset + 2 + length > data.length) break;
    packets.push(data.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
  }
  return packets;
}

/**
 * Sends a dump's packets in real time to a recorder, the way Medooze's Streamer does: RTP to `port`, and
 * an RTCP sender report (with the CNAME that ties both streams together) to `port + 1` every second. Both
 * tracks run on one wall clock and each report's RTP time is extrapolated to the moment it is sent, so a
 * recorder that syncs by RTCP can line them up exactly. Runs inside the calling process (a benchmark's
 * measured child processes never pay for it) and sends byte-identical packets on every run.
 */

export interface ReplayTarget {
  host: string;
  videoPort: number;
  audioPort: number;
}

export interface ReplayOptions {
  /**
   * Moves video frames in time, for jitter and burst tests: the returned milliseconds are added to the
   * frame's RTP timestamp, and its packets are sent that much later (or earlier), as a capture-time jitter
   * would. Frames are numbered from 0 in the dump's order; a frame is the packets sharing a timestamp.
   */
  videoFrameShiftMs?: (frame: number) => number;
}

export interface ReplayStats {
  packets: number;
  bytes: number;
  seconds: number;
}

interface Scheduled {
  dueMs: number;
  track: Track;
  packet: Buffer;
}

interface Track {
  ssrc: number;
  clockRate: number;
  port: number;
  firstTs: number;
  packets: number;
  octets: number;
  lastSrMs: number;
}

const SR_PERIOD_MS = 1000;
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const CNAME = 'recstack-bench';
/** timers are woken at least this often, so sender reports keep their period */
const MAX_SLEEP_MS = 20;

export class RtpReplay {
  readonly done: Promise<ReplayStats>;
  private readonly socket: Socket;
  private readonly schedule: Scheduled[];
  private readonly tracks: Track[];
  private next = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private finish!: (stats: ReplayStats) => void;
  private stats: ReplayStats = { packets: 0, bytes: 0, seconds: 0 };
  private stopped = false;

  /** Starts sending at once; `seconds` cuts the dump short. */
  constructor(
    dump: RtpDump,
    private readonly target: ReplayTarget,
    seconds = dump.seconds,
    options: ReplayOptions = {},
  ) {
    this.socket = createSocket('udp4');
    this.done = new Promise((resolve) => (this.finish = resolve));
    const video: Track = {
      ssrc: ssrcOf(dump.video[0]),
      clockRate: 90_000,
      port: target.videoPort,
      firstTs: rtpTimestamp(dump.video[0]),
      packets: 0,
      octets: 0,
      lastSrMs: -Infinity,
    };
    const audio: Track = {
      ssrc: ssrcOf(dump.audio[0]),
      clockRate: 48_000,
      port: target.audioPort,
      firstTs: rtpTimestamp(dump.audio[0]),
      packets: 0,
      octets: 0,
      lastSrMs: -Infinity,
    };
    this.tracks = [video, audio];
    const limitMs = seconds * 1000;
    const videoPackets = options.videoFrameShiftMs ? shiftVideoFrames(dump.video, options.videoFrameShiftMs) : dump.video;
    this.schedule = [...timeline(videoPackets, video), ...timeline(dump.audio, audio)].filter((s) => s.dueMs < limitMs).sort((a, b) => a.dueMs - b.dueMs);
    this.startedAt = performance.now();
    this.tick();
  }

  /** Stops sending (idempotent) and resolves with what was sent. */
  stop(): Promise<ReplayStats> {
    this.end();
    return this.done;
  }

  private tick(): void {
    if (this.stopped) return;
    const now = performance.now() - this.startedAt;
    while (this.next < this.schedule.length && (this.schedule[this.next] as Scheduled).dueMs <= now) {
      const { track, packet } = this.schedule[this.next] as Scheduled;
      this.socket.send(packet, track.port, this.target.host);
      track.packets++;
      track.octets += packet.length - 12;
      this.stats.packets++;
      this.stats.bytes += packet.length;
      this.next++;
    }
    for (const track of this.tracks) {
      if (track.packets > 0 && now - track.lastSrMs >= SR_PERIOD_MS) {
        track.lastSrMs = now;
        this.socket.send(senderReport(track, now), track.port + 1, this.target.host);
      }
    }
    if (this.next >= this.schedule.length) {
      this.end();
      return;
    }
    const wait = Math.min(MAX_SLEEP_MS, Math.max(0, (this.schedule[this.next] as Scheduled).dueMs - now));
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private end(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.stats.seconds = (performance.now() - this.startedAt) / 1000;
    // let the last datagrams leave before the socket closes
    setTimeout(() => this.socket.close(() => this.finish(this.stats)), 20);
  }
}

/**
 * Copies of 90 kHz RTP packets with each frame's timestamp moved by `shiftMs(frame)` (the originals are
 * left alone: a dump is shared between runs).
 */
export function shiftVideoFrames(packets: readonly Buffer[], shiftMs: (frame: number) => number): Buffer[] {
  let frame = -1;
  let lastTs: number | undefined;
  return packets.map((packet) => {
    const ts = rtpTimestamp(packet);
    if (ts !== lastTs) {
      frame++;
      lastTs = ts;
    }
    const shift = Math.round(shiftMs(frame) * 90);
    if (shift === 0) return packet;
    const copy = Buffer.from(packet);
    copy.writeUInt32BE((ts + shift) >>> 0, 4);
    return copy;
  });
}

/** When each packet is due: its RTP timestamp after the track's first, in ms. */
function timeline(packets: Buffer[], track: Track): Scheduled[] {
  return packets.map((packet) => ({ dueMs: ((rtpTimestamp(packet) - track.firstTs) / track.clockRate) * 1000, track, packet }));
}

function rtpTimestamp(packet: Buffer | undefined): number {
  return header(packet).readUInt32BE(4);
}

function ssrcOf(packet: Buffer | undefined): number {
  return header(packet).readUInt32BE(8);
}

function header(packet: Buffer | undefined): Buffer {
  if (!packet || packet.length < 12) throw new Error('the RTP dump is empty or holds a packet shorter than an RTP header');
  return packet;
}

/** RTCP compound packet: sender report (no report blocks) + SDES with the CNAME (RFC 3550 6.4.1, 6.5). */
export function senderReport(
  track: Pick<Track, 'ssrc' | 'clockRate' | 'firstTs' | 'packets' | 'octets'>,
  elapsedMs: number,
  wallClockMs = performance.timeOrigin + performance.now(),
): Buffer {
  const sr = Buffer.alloc(28);
  sr.writeUInt8(0x80, 0);
  sr.writeUInt8(200, 1);
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(track.ssrc >>> 0, 4);
  const ntpSeconds = wallClockMs / 1000 + NTP_UNIX_OFFSET_S;
  const whole = Math.floor(ntpSeconds);
  sr.writeUInt32BE(whole >>> 0, 8);
  sr.writeUInt32BE(Math.floor((ntpSeconds - whole) * 2 ** 32) >>> 0, 12);
  sr.writeUInt32BE((track.firstTs + Math.round((elapsedMs / 1000) * track.clockRate)) >>> 0, 16);
  sr.writeUInt32BE(track.packets >>> 0, 20);
  sr.writeUInt32BE(track.octets >>> 0, 24);

  const text = Buffer.from(CNAME, 'ascii');
  // chunk: SSRC, CNAME item (type, length, text), END, padded to 32 bits
  const chunkLength = Math.ceil((4 + 2 + text.length + 1) / 4) * 4;
  const sdes = Buffer.alloc(4 + chunkLength);
  sdes.writeUInt8(0x81, 0);
  sdes.writeUInt8(202, 1);
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(track.ssrc >>> 0, 4);
  sdes.writeUInt8(1, 8);
  sdes.writeUInt8(text.length, 9);
  text.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}
