import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execute = promisify(execFile);

let inBackground = false;

/**
 * The load harness checks files on the machine whose stack it measures: from this call on, every check runs at
 * the lowest priority (niceness 19, CPU class idle), so it takes only what the stack leaves and the recorders'
 * CPU admission, which does not count niceness 19, is not swayed by it.
 */
export function runChecksInBackground(): void {
  inBackground = true;
}

function run(command: string, args: readonly string[], options: { maxBuffer?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const line = inBackground ? ['chrt', '--idle', '0', 'nice', '-n', '19', command, ...args] : [command, ...args];
  const [file = command, ...rest] = line;
  return execute(file, rest, { ...options, encoding: 'utf8' });
}

export interface ProbedStream {
  index: number;
  /** 'video', 'audio', 'data', … */
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
}

export interface ProbeResult {
  durationSec: number;
  formatName: string;
  streams: ProbedStream[];
}

/** ffprobe's view of a file: streams and container duration. */
export async function probe(path: string): Promise<ProbeResult> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], { maxBuffer: 16 * 1024 * 1024 });
  const json = JSON.parse(stdout) as { format: { duration?: string; format_name: string }; streams: ProbedStream[] };
  return { durationSec: Number(json.format.duration ?? 'NaN'), formatName: json.format.format_name, streams: json.streams };
}

/**
 * What a full decode prints at level `error`: empty for a clean file. The check is
 * `ffmpeg -v error -i FILE -fps_mode vfr -f null -`: decoder errors only. Without `-fps_mode vfr` the null
 * muxer rounds variable-frame-rate timestamps to a guessed constant rate and prints "non monotonically
 * increasing dts" for two frames that round to one tick: a property of the check, not of the file.
 */
export async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-fps_mode', 'vfr', '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  return stderr.trim();
}

/** Whether the first decoded video frame of the file is a keyframe. */
export async function firstVideoFrameIsKeyframe(path: string): Promise<boolean> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_frames',
    '-read_intervals',
    '%+#1',
    '-show_entries',
    'frame=key_frame,pict_type',
    '-print_format',
    'json',
    path,
  ]);
  const json = JSON.parse(stdout) as { frames?: Array<{ key_frame: number; pict_type?: string }> };
  const first = json.frames?.[0];
  return first !== undefined && first.key_frame === 1;
}

export interface FrameSize {
  /** seconds from the first video frame of the file */
  atSec: number;
  width: number;
  height: number;
  keyFrame: boolean;
}

/** Every decoded video frame's resolution, in presentation order, timed from the first video frame. */
export async function videoFrameSizes(path: string): Promise<FrameSize[]> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=width,height,pts_time,best_effort_timestamp_time,key_frame',
      '-print_format',
      'json',
      path,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const json = JSON.parse(stdout) as {
    frames?: Array<{ width?: number; height?: number; pts_time?: string; best_effort_timestamp_time?: string; key_frame?: number }>;
  };
  const frames = (json.frames ?? [])
    .map((f) => ({ t: Number(f.pts_time ?? f.best_effort_timestamp_time ?? 'NaN'), width: f.width ?? 0, height: f.height ?? 0, keyFrame: f.key_frame === 1 }))
    .filter((f) => Number.isFinite(f.t))
    .sort((a, b) => a.t - b.t);
  const start = frames[0]?.t ?? 0;
  return frames.map((f) => ({ atSec: f.t - start, width: f.width, height: f.height, keyFrame: f.keyFrame }));
}

export interface VideoGap {
  /** the longest time between two consecutive video frames of the file (ms) */
  longestMs: number;
  /** where that stretch starts (s from the file's start) */
  atSec: number;
  frames: number;
  keyframes: number;
  /** the last video frame's time (s): frames dropped up to the end of the recording leave no gap between two */
  lastSec: number;
}

/**
 * The longest stretch without a new video frame, from the file's packet timestamps (no decode). After a
 * loss the depayloaders (`wait-for-keyframe`) drop frames up to the next keyframe, so damage shows as a
 * frozen stretch; at 30 fps an undamaged file has ~33 ms.
 */
export async function longestVideoGap(path: string): Promise<VideoGap> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-print_format', 'json', path], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const json = JSON.parse(stdout) as { packets?: Array<{ pts_time?: string; flags?: string }> };
  const packets = (json.packets ?? []).filter((p) => p.pts_time !== undefined);
  const times = packets.map((p) => Number(p.pts_time)).sort((a, b) => a - b);
  let longestMs = 0;
  let atSec = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = ((times[i] as number) - (times[i - 1] as number)) * 1000;
    if (gap > longestMs) {
      longestMs = gap;
      atSec = times[i - 1] as number;
    }
  }
  return {
    longestMs: Math.round(longestMs),
    atSec,
    frames: times.length,
    keyframes: packets.filter((p) => p.flags?.startsWith('K')).length,
    lastSec: times[times.length - 1] ?? 0,
  };
}

export interface DamagedStretch {
  /** the longest stretch from a frame that decoded with errors to the next keyframe that decoded cleanly (ms) */
  longestMs: number;
  /** where it starts (s, the frame's presentation time) */
  atSec: number;
  /** frames inside damaged stretches */
  damagedFrames: number;
  /** damage lines (errors, corrupt frames, frame number gaps) of the whole file */
  errorLines: number;
}

/**
 * What a decode says about a damaged frame: an error, a frame FFmpeg marks corrupt, or (H264, debug level) a
 * gap in frame numbers, i.e. a whole frame missing that later frames reference; VP8 has no such numbers.
 */
const DAMAGE_LINE = /\[(error|fatal)\]|corrupt decoded frame|Frame num gap/;

/**
 * Reads `ffmpeg -loglevel level+debug -threads 1 ... -vf showinfo` output: damage lines belong to the frame
 * shown next (one decoding thread, no B-frames from a WebRTC encoder). A damaged frame damages every frame
 * after it (they reference it) up to the next keyframe that decodes without damage; a damage running to the
 * file's end ends at its last frame.
 */
export function damagedStretches(log: string): DamagedStretch {
  let pendingError = false;
  let since: number | undefined;
  let last = 0;
  const result: DamagedStretch = { longestMs: 0, atSec: 0, damagedFrames: 0, errorLines: 0 };
  const close = (end: number) => {
    if (since === undefined) return;
    const ms = Math.round((end - since) * 1000);
    if (ms > result.longestMs) {
      result.longestMs = ms;
      result.atSec = since;
    }
    since = undefined;
  };
  for (const line of log.split('\n')) {
    const frame = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.]+).*\biskey:\s*(\d)/.exec(line);
    if (!frame && DAMAGE_LINE.test(line)) {
      pendingError = true;
      result.errorLines++;
      continue;
    }
    if (!frame) continue;
    const t = Number(frame[1]);
    last = t;
    if (pendingError) {
      since ??= t;
    } else if (frame[2] === '1') {
      close(t);
    }
    if (since !== undefined) result.damagedFrames++;
    pendingError = false;
  }
  close(last);
  return result;
}

/** The file's longest damaged video stretch (undecodable frames and those depending on them), by a full decode. */
export async function longestDamagedStretch(path: string): Promise<DamagedStretch> {
  const { stderr } = await run(
    'ffmpeg',
    ['-nostdin', '-loglevel', 'level+debug', '-threads', '1', '-i', path, '-map', '0:v:0', '-vf', 'showinfo', '-fps_mode', 'vfr', '-f', 'null', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return damagedStretches(stderr);
}
