import type { ReplayMedia } from './replay-media.js';

/**
 * When a replay publisher sends what: the loop's packets with sequence numbers and timestamps that run on
 * continuously (across loops and keyframe jumps), paced in real time. Separate from WebRTC so its
 * arithmetic can be tested; `emit` gets a fresh copy of each packet with its header rewritten (a sender
 * may keep it, e.g. in a NACK history).
 */

interface Cursor {
  /** index of the next frame (video) or packet (audio) */
  pos: number;
  /** added to the file's timestamp (a loop's length at every wrap, a shift at every jump) */
  tsOffset: number;
  seq: number;
  firstTs: number | undefined;
  firstAt: number;
}

function stamp(original: Buffer, seq: number, ts: number): Buffer {
  const packet = Buffer.from(original);
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(ts, 4);
  return packet;
}

export interface VideoScheduleOptions {
  /** a frame index of media.video (a keyframe: a decoder starts there) */
  startFrame: number;
  /** performance.now() ms of the first frame */
  startAt: number;
  /** kbit/s the pacer lets out; 0: each frame at once */
  pacingKbps: number;
  firstSeq: number;
  firstTs: number;
  /** the shortest time between two keyframe jumps (ms, default 500) */
  minJumpGapMs?: number;
  /**
   * ms by which this sender's keyframes come earlier than the file's cadence (0 up to a keyframe interval):
   * the first group of pictures is cut this much short by jumping to the next keyframe, after which the
   * keyframes follow the file's interval from there. The first frame stays the start keyframe (a real sender
   * starts with one); senders started together thus send their later keyframes at their own instants.
   */
  phaseShiftMs?: number;
}

export class VideoSchedule {
  packets = 0;
  jumps = 0;
  private readonly c: Cursor;
  /** the next packet of the current frame (a paced frame may span calls) */
  private pkt = 0;
  private pacerFreeAt = 0;
  private jumpWanted = false;
  private lastJumpAt = -Infinity;
  /** when (ms) the first group of pictures is cut short for the phase shift; undefined: no cut (any more) */
  private phaseCutAt: number | undefined;

  constructor(
    private readonly media: ReplayMedia,
    private readonly o: VideoScheduleOptions,
  ) {
    const start = media.video[o.startFrame];
    this.c = { pos: o.startFrame, tsOffset: (o.firstTs - (start?.ts ?? 0)) >>> 0, seq: o.firstSeq & 0xffff, firstTs: undefined, firstAt: o.startAt };
    const shift = o.phaseShiftMs ?? 0;
    if (shift > 0) this.phaseCutAt = o.startAt + msToNextKeyframe(media, o.startFrame) - shift;
  }

  /** A keyframe was asked for (PLI): the next frame due becomes the file's next keyframe. */
  requestKeyframe(): void {
    this.jumpWanted = true;
  }

  /** Emits every packet due at `now` (ms). */
  due(now: number, emit: (packet: Buffer) => void): void {
    const { media, c } = this;
    for (;;) {
      const frame = media.video[c.pos];
      if (!frame) {
        c.pos = 0;
        c.tsOffset = (c.tsOffset + media.videoLoopTicks) >>> 0;
        continue;
      }
      const ts = (frame.ts + c.tsOffset) >>> 0;
      c.firstTs ??= ts;
      const dueMs = c.firstAt + ((ts - c.firstTs) >>> 0) / 90;
      if (dueMs > now) return;
      if (!frame.keyframe && this.pkt === 0) {
        const asked = this.jumpWanted && now - this.lastJumpAt >= (this.o.minJumpGapMs ?? 500);
        const phase = this.phaseCutAt !== undefined && dueMs >= this.phaseCutAt;
        if (asked || phase) {
          if (asked) {
            this.jumpWanted = false;
            this.lastJumpAt = now;
            this.jumps++;
          }
          this.phaseCutAt = undefined;
          this.jumpToNextKeyframe();
          continue;
        }
      }
      if (frame.keyframe && this.pkt === 0) {
        this.jumpWanted = false;
        // any keyframe after the first (a requested one included) sets this sender's cadence from there
        if (this.packets > 0) this.phaseCutAt = undefined;
      }
      // a frame's packets leave no faster than the pacer allows (as libwebrtc's pacer does), so a keyframe is
      // not one burst into media's socket; what the pacer cannot send yet waits for the next call
      while (this.pkt < frame.packets.length) {
        if (this.o.pacingKbps > 0 && this.pacerFreeAt > now) return;
        const original = frame.packets[this.pkt] as Buffer;
        emit(stamp(original, c.seq, ts));
        c.seq = (c.seq + 1) & 0xffff;
        this.packets++;
        this.pkt++;
        if (this.o.pacingKbps > 0) this.pacerFreeAt = Math.max(this.pacerFreeAt, dueMs) + (original.length * 8) / this.o.pacingKbps;
      }
      this.pkt = 0;
      c.pos++;
    }
  }

  /** The next keyframe takes the timestamp the skipped frame would have had: the stream stays continuous. */
  private jumpToNextKeyframe(): void {
    const { media, c } = this;
    const here = media.video[c.pos];
    const next = media.keyframes.find((k) => k > c.pos) ?? media.keyframes[0] ?? 0;
    const target = media.video[next];
    if (!here || !target) return;
    c.tsOffset = (here.ts + c.tsOffset - target.ts) >>> 0;
    c.pos = next;
  }
}

/** ms from a keyframe of the loop to the one after it (across the loop's end). */
function msToNextKeyframe(media: ReplayMedia, frame: number): number {
  const here = media.video[frame]?.ts ?? 0;
  const next = media.keyframes.find((k) => k > frame);
  const ticks = next !== undefined ? (media.video[next]?.ts ?? here) - here : media.videoLoopTicks - here + (media.video[media.keyframes[0] ?? 0]?.ts ?? 0);
  return ticks / 90;
}

export class AudioSchedule {
  packets = 0;
  private readonly c: Cursor;

  /** starts at the audio packet that goes with `videoFrame`, so both play the same point of the loop */
  constructor(
    private readonly media: ReplayMedia,
    videoFrame: number,
    startAt: number,
    firstSeq: number,
    firstTs: number,
  ) {
    const videoMs = (media.video[videoFrame]?.ts ?? 0) / 90;
    const pos = Math.max(
      0,
      media.audio.findIndex((a) => a.ts / 48 >= videoMs),
    );
    this.c = { pos, tsOffset: (firstTs - (media.audio[pos]?.ts ?? 0)) >>> 0, seq: firstSeq & 0xffff, firstTs: undefined, firstAt: startAt };
  }

  due(now: number, emit: (packet: Buffer) => void): void {
    const { media, c } = this;
    for (;;) {
      const packet = media.audio[c.pos];
      if (!packet) {
        c.pos = 0;
        c.tsOffset = (c.tsOffset + media.audioLoopTicks) >>> 0;
        continue;
      }
      const ts = (packet.ts + c.tsOffset) >>> 0;
      c.firstTs ??= ts;
      if (c.firstAt + ((ts - c.firstTs) >>> 0) / 48 > now) return;
      emit(stamp(packet.packet, c.seq, ts));
      c.seq = (c.seq + 1) & 0xffff;
      this.packets++;
      c.pos++;
    }
  }
}
