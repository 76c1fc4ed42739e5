import { z } from 'zod';
import type { Container, OutputAudioCodec, VideoCodec } from './media-formats.js';

/**
 * Admission by cost. A cost unit is a hundredth of a percent of one CPU core (one core = 10 000 units),
 * so a recording measured at 4.36 % of a core by `make bench` costs 436 units. Each recorder publishes
 * its table in its pong, so media computes what a start costs *on that recorder* with `recordingCost`
 * (engines and machines differ) before choosing where to send it.
 */
export const COST_UNITS_PER_CORE = 10_000;

const Units = z.number().int().nonnegative().max(1_000_000);

export const RecordingCostTableSchema = z.object({
  /** every recording: the child process, RTP receive, jitter buffers and RTCP sync, muxing */
  base: Units,
  /** a video track by codec (depacketize, parse, write) at `referenceVideoKbps` */
  video: z.object({ h264: Units, vp8: Units, vp9: Units, av1: Units }),
  /** the video part scales with the bitrate when the start request says it (packets, not pixels, cost here) */
  referenceVideoKbps: z.number().int().positive().max(1_000_000),
  /** an Opus track written as it came */
  audioCopy: Units,
  /** an Opus track decoded and encoded to AAC */
  audioAac: Units,
  /** added per container (Matroska clusters vs MP4's robust-muxing index rewrites) */
  container: z.object({ mp4: Units, webm: Units, mkv: Units }),
});
export type RecordingCostTable = z.infer<typeof RecordingCostTableSchema>;

/** What a recording does, as far as its cost goes: the fields of a recorder start request. */
export interface RecordingWork {
  tracks: readonly { kind: 'audio' | 'video'; codec: string }[];
  container: Container;
  audioCodec: OutputAudioCodec | null;
  /** the publisher's video bitrate when known (kbit/s) */
  videoKbps?: number | undefined;
}

/** The cost of one recording on a recorder with this table, in cost units (an integer). */
export function recordingCost(table: RecordingCostTable, work: RecordingWork): number {
  let cost = table.base + table.container[work.container];
  for (const track of work.tracks) {
    if (track.kind === 'video') {
      const perCodec = table.video[track.codec as VideoCodec] ?? Math.max(...Object.values(table.video));
      // a quarter of the reference at least: a still screen still costs the per-frame work
      const scale = work.videoKbps === undefined ? 1 : Math.max(0.25, work.videoKbps / table.referenceVideoKbps);
      cost += perCodec * scale;
    } else {
      cost += work.audioCodec === 'aac' ? table.audioAac : table.audioCopy;
    }
  }
  return Math.round(cost);
}
