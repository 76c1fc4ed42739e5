import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { childEnvironment } from '../engine/child-env.js';
import { stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { FileStats, RecordedTrack } from '@recstack/contracts';
import { FileInvalidError } from '../errors.js';
import { probeTrackStats, type FileStatsResult, type TrackReadResult } from './file-stats.js';
import { describeMoov, readMoov } from './mp4-describe.js';
import type { PauseGate } from '../verification/pause-gate.js';
import { readMp4Track } from './mp4-track-read.js';

/** What a finished file holds, read in this process (MP4) or by ffprobe. */
export interface FileFacts {
  sizeBytes: number;
  durationMs: number;
  formatName: string;
  tracks: RecordedTrack[];
  /** the writing application the container names (`Lavf…` when FFmpeg wrote it) */
  encoder: string | undefined;
  /** frames, keyframes, gaps and resolution changes; undefined when they could not be read */
  stats?: FileStats;
  /** whether the first video frame is a keyframe (its bytes, or decoded as one by ffprobe); undefined without video or when unread */
  firstFrameIsKeyframe?: boolean;
}

export interface DecodeCheck {
  /** nothing the check read printed an error (and something was read: scope is not `none`) */
  clean: boolean;
  /**
   * `full`: every frame decoded; `partial`: the decode ran out of its budget, and then every packet of the
   * whole file was read without decoding; `none`: no budget left, nothing checked
   */
  scope: 'full' | 'partial' | 'none';
  /** the first error lines, for the log */
  errors: string[];
}

/** Reading every packet without decoding costs ~1/50 of decoding; this bounds it for very long files. */
const DEMUX_CHECK_MS = 15_000;

interface ProbeJson {
  format?: { duration?: string; format_name?: string; tags?: Record<string, string> };
  streams?: Array<{
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    sample_rate?: string;
    channels?: number;
    duration?: string;
  }>;
}

/** Turns ffprobe's JSON into facts. Pure, so the rules (what counts as a track, which duration) are tested. */
export function parseProbe(json: ProbeJson, sizeBytes: number): FileFacts {
  const tracks: RecordedTrack[] = [];
  let longestStream = 0;
  for (const s of json.streams ?? []) {
    if ((s.codec_type !== 'video' && s.codec_type !== 'audio') || !s.codec_name) continue;
    const track: RecordedTrack = { kind: s.codec_type, codec: s.codec_name };
    if (s.codec_type === 'video') {
      if (s.width && s.width > 0) track.width = s.width;
      if (s.height && s.height > 0) track.height = s.height;
    } else {
      const rate = Number(s.sample_rate);
      if (Number.isInteger(rate) && rate > 0) track.sampleRate = rate;
      if (s.channels && s.channels > 0) track.channels = s.channels;
    }
    tracks.push(track);
    const d = Number(s.duration);
    if (Number.isFinite(d)) longestStream = Math.max(longestStream, d);
  }
  const formatDuration = Number(json.format?.duration);
  const seconds = Number.isFinite(formatDuration) && formatDuration > 0 ? formatDuration : longestStream;
  const tags = json.format?.tags ?? {};
  const encoder = tags['encoder'] ?? tags['ENCODER'];
  return { sizeBytes, durationMs: Math.max(0, Math.round(seconds * 1000)), formatName: json.format?.format_name ?? 'unknown', tracks, encoder };
}

export interface ProbeTools {
  ffprobe: string;
  ffmpeg: string;
}

/**
 * A finished file's facts: its streams and duration, its first video stream's stats and whether its first
 * frame is a keyframe. An ffprobe process costs ~50 ms of CPU just to start, and twenty stops at once on two
 * cores queue for it (each of their keyframe decodes took 170-430 ms that way), so an MP4 the recorder wrote
 * is read in this process, and its stop starts no child: the container's description (mp4-describe.ts) and
 * the read of its video track, or of its audio track when it has no video (mp4-track-read.ts: the sample
 * tables, and the keyframes' own headers for their sizes and the first-frame check). Anything else (WebM,
 * Matroska, an MP4 FFmpeg wrote in a shape that read does not follow, AV1) gets ffprobe: the description
 * and the read of the video stream side by side, the audio read after for an audio-only file. The full
 * decode of the background verification (verification/) still reads every file through FFmpeg later. A
 * missing, empty or unreadable file is a FileInvalidError with the reason.
 */
export async function probeFile(path: string, tools: ProbeTools): Promise<FileFacts> {
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) throw new FileInvalidError('the recording file was not written');
  if (size === 0) throw new FileInvalidError('the recording file is empty');
  const moov = await readMoov(path, size).catch(() => undefined);
  const mp4 = moov && describeMoov(moov);
  if (moov && mp4) {
    const facts: FileFacts = { sizeBytes: size, ...mp4 };
    const kind = facts.tracks.some((t) => t.kind === 'video') ? 'video' : 'audio';
    const read = (await readMp4Track(path, size, moov, kind).catch(() => undefined)) ?? (await probeTrackStats(path, tools, kind));
    // described and read here: a file neither this process nor FFmpeg can read is not done
    if (!read) throw new FileInvalidError('ffprobe cannot read the file');
    return joined(facts, read);
  }
  const [facts, videoRead] = await Promise.all([describeWithFfprobe(path, size, tools), probeTrackStats(path, tools, 'video')]);
  const hasVideo = facts.tracks.some((t) => t.kind === 'video');
  return joined(facts, hasVideo ? videoRead : await probeTrackStats(path, tools, 'audio'));
}

function joined(facts: FileFacts, read: TrackReadResult | undefined): FileFacts {
  const hasVideo = facts.tracks.some((t) => t.kind === 'video');
  return withStats(hasVideo && read ? { ...facts, firstFrameIsKeyframe: read.firstFrameIsKeyframe } : facts, read);
}

async function describeWithFfprobe(path: string, size: number, tools: ProbeTools): Promise<FileFacts> {
  const described = await run(tools.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], 30_000);
  if (described.code !== 0) throw new FileInvalidError(`ffprobe cannot read the file: ${firstLine(described.stderr) ?? `exit code ${described.code}`}`);
  let json: ProbeJson;
  try {
    json = JSON.parse(described.stdout) as ProbeJson;
  } catch (cause) {
    throw new FileInvalidError('ffprobe printed no readable description of the file', { cause });
  }
  return parseProbe(json, size);
}

/**
 * The stats join the facts, and the video track's resolution becomes the one most of the file has: the
 * container's stream header names the first frame's, which for a publisher that ramped up is a thumbnail.
 */
export function withStats(facts: FileFacts, result: FileStatsResult | undefined): FileFacts {
  if (!result) return facts;
  const { dominant } = result;
  const tracks = facts.tracks.map((t) => (t.kind === 'video' && dominant ? { ...t, width: dominant.width, height: dominant.height } : t));
  return { ...facts, tracks, stats: result.stats };
}

/** `full`: every frame decoded; `keyframes`: only keyframes decoded (`-skip_frame nokey`), every packet read. */
export type DecodeMode = 'full' | 'keyframes';

/** How a check's child runs: the background verification asks for the lowest CPU and I/O priority. */
export interface ChildPriority {
  /** added niceness (0-19) */
  nice: number;
  /** I/O scheduling class idle (`ionice -c 3`): reads only when no one else reads the disk */
  ioIdle?: boolean;
  /**
   * CPU scheduling class idle (`chrt --idle 0`): a core that runs only such work counts as free when a task
   * wakes, so a recording's start never waits behind it; at niceness 19 alone, the background decodes of
   * one batch of stops made the next batch's recording processes take up to a second to listen
   */
  cpuIdle?: boolean;
  /** ends the child (SIGKILL) when aborted: a shutdown does not leave a verification running */
  signal?: AbortSignal;
  /** stops the child (SIGSTOP) while paused, continues it after (SIGCONT) */
  pause?: PauseGate;
}

/**
 * Decodes the file as a user's player would: `ffmpeg -v error -i F -fps_mode vfr -f null -` prints decoder
 * errors only (without `-fps_mode vfr` the null muxer rounds variable-frame-rate timestamps to a guessed
 * rate and complains about frames that round to one tick, which says nothing about the file). A full
 * decode costs ~5 CPU s per minute of 720p video, so a long recording can outlast `budgetMs`: the decode is
 * then stopped, and instead of claiming nothing (or a failure), what it decoded so far counts and the rest
 * of the file is checked by reading every packet without decoding (`partial`).
 */
export async function decodeFile(
  path: string,
  tools: ProbeTools,
  budgetMs: number,
  mode: DecodeMode = 'full',
  priority: ChildPriority = { nice: 10 },
): Promise<DecodeCheck> {
  if (budgetMs <= 0) return { clean: false, scope: 'none', errors: [] };
  const skip = mode === 'keyframes' ? ['-skip_frame', 'nokey'] : [];
  const decoded = await run(tools.ffmpeg, ['-nostdin', '-v', 'error', ...skip, '-i', path, '-fps_mode', 'vfr', '-f', 'null', '-'], budgetMs, priority);
  const errors = errorLines(decoded.stderr);
  // keyframes only: every packet was read, a keyframe of each GOP decoded; the frames between were not
  if (!decoded.timedOut) return { clean: decoded.code === 0 && errors.length === 0, scope: mode === 'full' ? 'full' : 'partial', errors };
  const demuxed = await run(tools.ffmpeg, ['-nostdin', '-v', 'error', '-i', path, '-map', '0', '-c', 'copy', '-f', 'null', '-'], DEMUX_CHECK_MS, priority);
  const all = [...errors, ...errorLines(demuxed.stderr)].slice(0, 20);
  if (demuxed.timedOut) all.push('reading the file took too long');
  return { clean: !demuxed.timedOut && demuxed.code === 0 && all.length === 0, scope: 'partial', errors: all };
}

function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 20);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a tool to completion with a time limit; output is capped so a chatty tool cannot exhaust memory. */
export function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  priority: ChildPriority = { nice: 0 },
  maxOutputChars = 1024 * 1024,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const line = prioritized(command, args, priority);
    const child = spawn(line.command, line.args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment() });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const cap = maxOutputChars;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < cap) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < cap) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const unwatch = priority.pause?.watch((paused) => child.kill(paused ? 'SIGSTOP' : 'SIGCONT'));
    const abort = () => child.kill('SIGKILL');
    if (priority.signal?.aborted) abort();
    else priority.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (err) => {
      clearTimeout(timer);
      unwatch?.();
      priority.signal?.removeEventListener('abort', abort);
      resolve({ code: null, stdout, stderr: `${stderr}${String(err)}`, timedOut });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      unwatch?.();
      priority.signal?.removeEventListener('abort', abort);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * The command line that runs `command` at a lower priority: `nice -n N` (coreutils) and, for I/O class idle,
 * `ionice -c 3 -t` (util-linux; `-t`: run anyway where the class cannot be set). Both exec the command, so
 * the pid is the command's, and every thread it creates inherits the priority (set from outside after the
 * spawn, Linux would apply it to the main thread only). Without ionice on the machine only nice applies.
 * CPU class idle is `chrt --idle 0` (util-linux), used only where it was seen to work (a sandbox may refuse
 * the call, and chrt then runs nothing).
 */
export function prioritized(command: string, args: readonly string[], priority: ChildPriority): { command: string; args: string[] } {
  let line = [command, ...args];
  if (priority.nice > 0) line = ['nice', '-n', String(Math.min(19, priority.nice)), ...line];
  if (priority.ioIdle && available('ionice')) line = ['ionice', '-c', '3', '-t', ...line];
  if (priority.cpuIdle && cpuIdleWorks()) line = ['chrt', '--idle', '0', ...line];
  const [first = command, ...rest] = line;
  return { command: first, args: rest };
}

const found = new Map<string, boolean>();
function available(tool: string): boolean {
  let there = found.get(tool);
  if (there === undefined) {
    there = (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, tool)));
    found.set(tool, there);
  }
  return there;
}

let cpuIdle: boolean | undefined;
function cpuIdleWorks(): boolean {
  cpuIdle ??= available('chrt') && spawnSync('chrt', ['--idle', '0', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  return cpuIdle;
}

function firstLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
}
