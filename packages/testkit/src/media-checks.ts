import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProbedStream {
  index: number;
  codec_type: 'video' | 'audio' | string;
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
 * What a full decode prints at level `error`: empty for a clean file. By default this is the user's own
 * check, `ffmpeg -v error -i FILE -f null -`, exactly: no flag that would hide a timestamp problem (the
 * recorder's timestamp tests rely on it). `decoderOnly` adds `-fps_mode vfr`: the frames go to the null
 * muxer as decoded, so only the demuxer and decoders can complain, not ffmpeg's constant-frame-rate
 * output stage; what the load harness judges a file by.
 */
export async function decodeErrors(path: string, options: { decoderOnly?: boolean } = {}): Promise<string> {
  const vfr = options.decoderOnly ? ['-fps_mode', 'vfr'] : [];
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, ...vfr, '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
  return stderr.trim();
}

/** Whether the first decoded video frame of the file is a keyframe. */
export async function firstVideoFrameIsKeyframe(path: string): Promise<boolean> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-show_frames', '-read_intervals', '%+#1',
    '-show_entries', 'frame=key_frame,pict_type', '-print_format', 'json', path,
  ]);
  const json = JSON.parse(stdout) as { frames?: Array<{ key_frame: number; pict_type?: string }> };
  const first = json.frames?.[0];
  return first !== undefined && first.key_frame === 1;
}
