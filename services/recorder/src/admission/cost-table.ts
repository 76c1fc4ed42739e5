import type { Engine, RecordingCostTable } from '@recstack/contracts';

/**
 * What a recording costs, in cost units (1/100 % of one core), calibrated by `make bench` on the 2-core
 * development machine (README "Benchmark", 720p30 H264 at ~1.5 Mbit/s + Opus, MP4): GStreamer 2.36 % of a
 * core with Opus copied, 4.36 % with Opus → AAC; FFmpeg 0.76 % and 3.88 %. The split between base, video
 * and audio follows the bench's ablations (the bare receive path 1.80 %). VP8/VP9/AV1 and Matroska were not
 * benched: VP8/VP9 are taken as H264 plus a little (larger packets per frame at equal bitrate does not
 * change much), AV1 higher (the recorder depacketizes it itself, in its own process). Override any entry
 * with RECORDER_COSTS on another machine.
 */
const GSTREAMER: RecordingCostTable = {
  base: 60,
  video: { h264: 160, vp8: 170, vp9: 170, av1: 260 },
  referenceVideoKbps: 1500,
  audioCopy: 16,
  audioAac: 216,
  container: { mp4: 0, webm: 0, mkv: 0 },
};

const FFMPEG: RecordingCostTable = {
  base: 20,
  video: { h264: 50, vp8: 55, vp9: 55, av1: 260 },
  referenceVideoKbps: 1500,
  audioCopy: 6,
  audioAac: 318,
  container: { mp4: 0, webm: 0, mkv: 0 },
};

export function defaultCostTable(engine: Engine): RecordingCostTable {
  const table = engine === 'ffmpeg' ? FFMPEG : GSTREAMER;
  return { ...table, video: { ...table.video }, container: { ...table.container } };
}

/** The keys RECORDER_COSTS takes: `key=units` pairs, comma-separated. */
export const COST_KEYS = ['base', 'h264', 'vp8', 'vp9', 'av1', 'opus', 'aac', 'mp4', 'webm', 'mkv', 'kbps'] as const;
type CostKey = (typeof COST_KEYS)[number];

/**
 * Parses RECORDER_COSTS (`base=60,aac=300,kbps=2000`): each pair overrides one entry of the engine's
 * defaults (`opus`: Opus copied, `aac`: Opus → AAC, `kbps`: the reference video bitrate). Returns the
 * table, or the list of what is wrong.
 */
export function applyCostOverrides(table: RecordingCostTable, text: string): { ok: true; table: RecordingCostTable } | { ok: false; problems: string[] } {
  const out: RecordingCostTable = { ...table, video: { ...table.video }, container: { ...table.container } };
  const problems: string[] = [];
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key = '', value = '', ...rest] = pair.split('=').map((p) => p.trim());
    const units = Number(value);
    if (rest.length > 0 || !(COST_KEYS as readonly string[]).includes(key)) {
      problems.push(`"${pair}": expected key=units with key one of ${COST_KEYS.join(', ')}`);
      continue;
    }
    if (value === '' || !Number.isInteger(units) || units < (key === 'kbps' ? 1 : 0) || units > 1_000_000) {
      problems.push(`"${pair}": units must be a whole number from ${key === 'kbps' ? 1 : 0} to 1000000`);
      continue;
    }
    set(out, key as CostKey, units);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, table: out };
}

function set(table: RecordingCostTable, key: CostKey, units: number): void {
  switch (key) {
    case 'base':
      table.base = units;
      return;
    case 'opus':
      table.audioCopy = units;
      return;
    case 'aac':
      table.audioAac = units;
      return;
    case 'kbps':
      table.referenceVideoKbps = units;
      return;
    case 'mp4':
    case 'webm':
    case 'mkv':
      table.container[key] = units;
      return;
    default:
      table.video[key] = units;
  }
}
