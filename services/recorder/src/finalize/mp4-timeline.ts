import type { Edit, SampleTables } from './mp4-samples.js';

/**
 * A track's packets as FFmpeg's MP4 demuxer hands them out (what ffprobe's packet pts_time and flags report):
 * in decode order, `sample` the index in the sample tables, `pts` in the media time base, `key` the stss flag.
 */
export interface Timeline {
  count: number;
  sample: Uint32Array;
  pts: Float64Array;
  key: Uint8Array;
  /** 1: outside the edit, dropped after decoding (FFmpeg's discard flag) */
  discard: Uint8Array;
}

/**
 * Applies the edit list the way FFmpeg does (libavformat/mov.c, mov_fix_index): the first packet inside the
 * edit is timed at the empty edits before it, less its composition offset (so the first frame shows at the
 * edit's start); packets before the edit keep that time and are discarded after decoding (still packets:
 * ffprobe lists them), except an audio packet that straddles the edit's start, whose head is skipped and
 * which is timed back by as much; each packet after it is timed by the decode durations; the packets after
 * the first keyframe that ends the edit are dropped. Without an edit list the sample tables' times stand.
 * Handles leading empty edits and one media edit, which is what the recorder's muxers write; anything else
 * (several media edits, negative composition offsets) is undefined and left to ffprobe.
 */
export function demuxedTimeline(tables: SampleTables, edits: readonly Edit[], movieTimescale: number, kind: 'video' | 'audio'): Timeline | undefined {
  const { count, decodeTimes, composition, sync } = tables;
  for (let i = 0; i < count; i++) if ((composition[i] ?? 0) < 0) return undefined;
  const out: Timeline = { count: 0, sample: new Uint32Array(count), pts: new Float64Array(count), key: new Uint8Array(count), discard: new Uint8Array(count) };
  const push = (i: number, dts: number, discard = false) => {
    out.sample[out.count] = i;
    out.pts[out.count] = dts + (composition[i] ?? 0);
    out.key[out.count] = sync[i] ?? 0;
    out.discard[out.count] = discard ? 1 : 0;
    out.count++;
  };
  if (edits.length === 0) {
    for (let i = 0; i < count; i++) push(i, decodeTimes[i] ?? 0);
    return out;
  }
  if (movieTimescale <= 0) return undefined;
  const media = edits.findIndex((e) => e.mediaTime >= 0);
  if (media < 0 || media !== edits.length - 1) return undefined;
  const toMedia = (movieUnits: number) => Math.round((movieUnits * tables.timescale) / movieTimescale);
  const emptyBefore = edits.slice(0, media).reduce((sum, e) => sum + toMedia(e.duration), 0);
  const edit = edits[media];
  if (!edit) return undefined;
  const mediaTime = edit.mediaTime;
  const editEnd = mediaTime + toMedia(edit.duration);

  const search = kind === 'audio' ? Math.max(mediaTime - tables.timescale, decodeTimes[0] ?? 0) : mediaTime;
  const first = closestBefore(tables, search, false) ?? closestBefore(tables, search, true) ?? 0;

  let counter = emptyBefore - (tables.hasComposition ? (composition[0] ?? 0) : 0);
  let started = false;
  // audio packets discarded before the edit starts: timed back from the first one inside it, in order
  const discardedAudio: number[] = [];
  for (let i = first; i < count; i++) {
    const dts = decodeTimes[i] ?? 0;
    const duration = i + 1 < count ? (decodeTimes[i + 1] ?? 0) - dts : toMedia(edit.duration);
    const cts = dts + (composition[i] ?? 0);
    let discard = false;
    if (cts < mediaTime || cts >= editEnd) {
      if (kind === 'audio' && cts < mediaTime && cts + duration > mediaTime) {
        counter -= mediaTime - cts;
        if (!started) {
          started = true;
          retime(out, discardedAudio, counter);
        }
      } else {
        discard = true;
        if (kind === 'audio' && !started) discardedAudio.push(duration);
      }
    } else if (!started) {
      started = true;
      if (kind === 'audio') retime(out, discardedAudio, counter);
    }
    push(i, counter, discard);
    if (started) counter += duration;
    if (cts + duration >= editEnd && (kind === 'audio' || sync[i] === 1)) break;
  }
  return out;
}

/**
 * Where FFmpeg starts reading for an edit that starts at `time`: the last sync sample (any sample with
 * `any`) decoded at or before it, then, with composition offsets, back to a sync sample shown at or before
 * it; the first sample when there is none either way.
 */
function closestBefore(tables: SampleTables, time: number, any: boolean): number | undefined {
  let index = -1;
  for (let i = 0; i < tables.count && (tables.decodeTimes[i] ?? 0) <= time; i++) if (any || tables.sync[i] === 1) index = i;
  if (tables.hasComposition) {
    while (index >= 0 && !((tables.decodeTimes[index] ?? 0) + (tables.composition[index] ?? 0) <= time && tables.sync[index] === 1)) index--;
  }
  return index >= 0 ? index : undefined;
}

/** The discarded audio packets before the edit get times counting back from `end` by their durations. */
function retime(out: Timeline, durations: readonly number[], end: number): void {
  let time = end;
  for (let k = 0; k < durations.length; k++) {
    time -= durations[durations.length - 1 - k] ?? 0;
    out.pts[out.count - 1 - k] = time;
  }
}
