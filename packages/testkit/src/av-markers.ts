import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Finds A/V sync markers in a file the way a player sees it: both streams decoded by FFmpeg on the file's
 * own timeline (`-copyts`: the container's timestamps and edit lists, nothing shifted), so an audio
 * encoder's priming samples that the file does not declare show up as audio arriving late.
 */

export interface Level {
  /** seconds on the file's timeline */
  t: number;
  value: number;
}

/**
 * Peak level of the first audio stream in 1 ms steps (48 samples at 48 kHz, after resampling to 48 kHz
 * mono), 0..1 of full scale.
 */
export async function audioLevels(path: string): Promise<Level[]> {
  const filter = 'aresample=48000,pan=mono|c0=c0,asetnsamples=n=48:p=0,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.Peak_level:file=-';
  const { stdout } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-copyts', '-i', path, '-map', '0:a:0', '-af', filter, '-f', 'null', '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return parseMetadataPrint(stdout, 'lavfi.astats.Overall.Peak_level', (db) => (db === '-inf' ? 0 : 10 ** (Number(db) / 20)));
}

/** Mean luma (0..255) of every decoded frame of the first video stream. */
export async function videoLuma(path: string): Promise<Level[]> {
  const filter = 'scale=64:36,signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-';
  const { stdout } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-copyts', '-i', path, '-map', '0:v:0', '-vf', filter, '-f', 'null', '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return parseMetadataPrint(stdout, 'lavfi.signalstats.YAVG', Number);
}

/**
 * `metadata=print` output: a `frame:N pts:P pts_time:T` line, then `key=value` lines for that frame.
 * Exported for its unit test.
 */
export function parseMetadataPrint(text: string, key: string, value: (raw: string) => number): Level[] {
  const out: Level[] = [];
  let t: number | undefined;
  for (const line of text.split('\n')) {
    const frame = /pts_time:(-?[\d.]+)/.exec(line);
    if (frame) {
      t = Number(frame[1]);
      continue;
    }
    if (t !== undefined && line.startsWith(`${key}=`)) {
      const v = value(line.slice(key.length + 1).trim());
      if (Number.isFinite(v)) out.push({ t, value: v });
    }
  }
  return out;
}

/**
 * Times at which `levels` rise through `threshold` after at least `quietSeconds` below it: the start of
 * each marker (a beep, a flash), not its middle or the ringing after it. A marker already under way when
 * the stream starts is not an onset (the stream must first be quiet for `quietSeconds`).
 */
export function onsets(levels: readonly Level[], threshold: number, quietSeconds: number): number[] {
  const out: number[] = [];
  const first = levels[0]?.t ?? 0;
  let lastLoud: number | undefined;
  for (const { t, value } of levels) {
    if (value < threshold) continue;
    if (t - (lastLoud ?? first) >= quietSeconds) out.push(t);
    lastLoud = t;
  }
  return out;
}

export interface MarkerPair {
  video: number;
  audio: number;
  /** audio minus video, ms: positive means the sound comes after the picture */
  offsetMs: number;
}

/** Each flash with the beep nearest to it (within `maxSeconds`); flashes without one are left out. */
export function pairMarkers(videoOnsets: readonly number[], audioOnsets: readonly number[], maxSeconds: number): MarkerPair[] {
  const pairs: MarkerPair[] = [];
  for (const video of videoOnsets) {
    let best: number | undefined;
    for (const audio of audioOnsets) if (best === undefined || Math.abs(audio - video) < Math.abs(best - video)) best = audio;
    if (best !== undefined && Math.abs(best - video) <= maxSeconds) pairs.push({ video, audio: best, offsetMs: Math.round((best - video) * 1000) });
  }
  return pairs;
}

export interface AvSyncMeasurement {
  pairs: MarkerPair[];
  videoOnsets: number[];
  audioOnsets: number[];
}

/**
 * Flashes (mean luma crossing the middle between the dark background and white) and beeps (peak above
 * 0.25 of full scale) of a marker recording, paired.
 */
export async function measureAvSync(path: string, options: { periodSeconds: number }): Promise<AvSyncMeasurement> {
  const [luma, levels] = await Promise.all([videoLuma(path), audioLevels(path)]);
  const quiet = options.periodSeconds / 2;
  const videoOnsets = onsets(luma, 128, quiet);
  const audioOnsets = onsets(levels, 0.25, quiet);
  return { pairs: pairMarkers(videoOnsets, audioOnsets, quiet), videoOnsets, audioOnsets };
}
