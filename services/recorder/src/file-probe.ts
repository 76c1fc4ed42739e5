import { spawn } from 'node:child_process';
import { childEnvironment } from './child-env.js';
import { stat } from 'node:fs/promises';
import { setPriority } from 'node:os';
import type { RecordedTrack } from '@recstack/contracts';
import { FileInvalidError } from './errors.js';

/** What ffprobe found in a finished file. */
export interface FileFacts {
  sizeBytes: number;
  durationMs: number;
  formatName: string;
  tracks: RecordedTrack[];
  /** the writing application the container names (`Lavf…` when FFmpeg wrote it) */
  encoder: string | undefined;
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

/** ffprobe of a file; a missing, empty or unreadable file is a FileInvalidError with the reason. */
export async function probeFile(path: string, tools: ProbeTools): Promise<FileFacts> {
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) throw new FileInvalidError('the recording file was not written');
  if (size === 0) throw new FileInvalidError('the recording file is empty');
  const result = await run(tools.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], 30_000);
  if (result.code !== 0) throw new FileInvalidError(`ffprobe cannot read the file: ${firstLine(result.stderr) ?? `exit code ${result.code}`}`);
  let json: ProbeJson;
  try {
    json = JSON.parse(result.stdout) as ProbeJson;
  } catch (cause) {
    throw new FileInvalidError('ffprobe printed no readable description of the file', { cause });
  }
  return parseProbe(json, size);
}

/**
 * Decodes the whole file, as a user's player would, at low CPU priority (live recordings come first); the
 * same check as the test kit's decodeErrors. A full decode costs ~5 CPU s per minute of 720p video, so a
 * long recording can outlast `budgetMs`: the decode is then stopped, and instead of claiming nothing (or a
 * failure), what it decoded so far counts and the rest of the file is checked by reading every packet
 * without decoding (`partial`).
 */
export async function decodeFile(path: string, tools: ProbeTools, budgetMs: number): Promise<DecodeCheck> {
  if (budgetMs <= 0) return { clean: false, scope: 'none', errors: [] };
  // exactly the command a user runs: its null output rounds video timestamps to 1/frame-rate, so it also
  // catches frames stamped too close together (arrival jitter), which players stutter on
  const decoded = await run(tools.ffmpeg, ['-nostdin', '-v', 'error', '-i', path, '-f', 'null', '-'], budgetMs, 10);
  const errors = errorLines(decoded.stderr);
  if (!decoded.timedOut) return { clean: decoded.code === 0 && errors.length === 0, scope: 'full', errors };
  const demuxed = await run(tools.ffmpeg, ['-nostdin', '-v', 'error', '-i', path, '-map', '0', '-c', 'copy', '-f', 'null', '-'], DEMUX_CHECK_MS, 10);
  const all = [...errors, ...errorLines(demuxed.stderr)].slice(0, 20);
  if (demuxed.timedOut) all.push('reading the file took too long');
  return { clean: !demuxed.timedOut && demuxed.code === 0 && all.length === 0, scope: 'partial', errors: all };
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 20);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a tool to completion with a time limit; output is capped so a chatty tool cannot exhaust memory. */
export function run(command: string, args: readonly string[], timeoutMs: number, niceness = 0, maxOutputChars = 1024 * 1024): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment() });
    if (niceness && child.pid) {
      try {
        setPriority(child.pid, niceness);
      } catch {
        // not allowed here: run at normal priority
      }
    }
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
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${String(err)}`, timedOut });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

function firstLine(text: string): string | undefined {
  return text.split('\n').map((l) => l.trim()).find(Boolean);
}
