import type { StopStep } from '@recstack/service-kit';
import type { ChildOutputParser } from './child-events.js';
import { buildFfmpegArgs, buildFfmpegSdp } from './ffmpeg-command.js';
import { FfmpegOutputParser } from './ffmpeg-output.js';
import { AV1_PIPE_FD, GST_NAMES, buildGstLaunchArgs } from './gst-pipeline.js';
import { GstOutputParser } from './gst-output.js';
import { boundPorts, tracksOf, type RecordingPlan } from '../recording-plan.js';
import { portsBoundBy } from '../udp-ports.js';

/** With RTP flowing FFmpeg ends within a few hundred ms of a SIGINT; after this it is blocked in a read. */
const FFMPEG_REPEAT_SIGINT_MS = 1000;

/** How often a silent RTP socket reports its silence (GStreamer). */
export const IDLE_PROBE_MS = 1000;

export interface EngineSettings {
  gstLaunch: string;
  ffmpeg: string;
  jitterLatencyMs: number;
  /** RECORDER_JITTER_MODE (GStreamer); default synced */
  jitterMode?: 'synced' | 'slave';
  rtpTimeoutMs: number;
}

/** How to run one recording's child process with the configured engine. */
export interface ChildLaunch {
  command: string;
  args: string[];
  /** written to the child's stdin, which is then closed */
  stdin: string;
  parser: ChildOutputParser;
  /**
   * Set when the child does not announce that it listens (FFmpeg): polled until it returns true.
   * GStreamer announces it (the pipeline reaching PLAYING), so it has none.
   */
  listeningProbe?: (pid: number) => Promise<boolean>;
  /** the graceful end: each step's wait comes from the caller's stop timeout */
  finalizeSignal: NodeJS.Signals;
  /**
   * Send the finalize signal a second time after this long. FFmpeg acts on a first SIGINT only between
   * packets, so once RTP has stopped it would sit in a blocked read until its RTP timeout (10 s); a second
   * signal interrupts the read and FFmpeg still writes its trailer (only a fourth makes it exit hard).
   */
  repeatFinalizeAfterMs?: number;
  /** AV1 track: the recorder binds its RTP port and feeds the child through fd `fd` */
  av1?: { port: number; payloadType: number; fd: number };
}

export function childLaunch(plan: RecordingPlan, settings: EngineSettings): ChildLaunch {
  if (plan.engine === 'ffmpeg') {
    const ports = boundPorts(plan);
    return {
      command: settings.ffmpeg,
      args: buildFfmpegArgs(plan, { rtpTimeoutMs: settings.rtpTimeoutMs, aacBitrate: 128_000, progressPeriodMs: 250 }),
      stdin: buildFfmpegSdp(plan),
      parser: new FfmpegOutputParser(plan.video !== undefined),
      listeningProbe: (pid) => portsBoundBy(pid, ports),
      // FFmpeg finalizes its output on SIGINT like on 'q'; 'q' is unusable here because FFmpeg turns off
      // its keyboard commands when an input (the SDP) is read from stdin
      finalizeSignal: 'SIGINT',
      repeatFinalizeAfterMs: FFMPEG_REPEAT_SIGINT_MS,
    };
  }
  return {
    command: settings.gstLaunch,
    args: buildGstLaunchArgs(plan, {
      jitterLatencyMs: settings.jitterLatencyMs,
      ...(settings.jitterMode ? { jitterMode: settings.jitterMode } : {}),
      idleProbeMs: IDLE_PROBE_MS,
      moovUpdatePeriodMs: 1000,
      aacBitrate: 128_000,
    }),
    stdin: '',
    ...(plan.video?.codec === 'av1' ? { av1: { port: plan.video.port, payloadType: plan.video.payloadType, fd: AV1_PIPE_FD } } : {}),
    parser: new GstOutputParser(tracksOf(plan).flatMap((t) => [GST_NAMES.rtpSource(t.kind), GST_NAMES.rtcpSource(t.kind)])),
    // gst-launch -e turns SIGINT into an EOS through the pipeline: the muxer writes its index and exits
    finalizeSignal: 'SIGINT',
  };
}

/**
 * EOS (SIGINT) → SIGTERM → SIGKILL, each waiting `stepMs` for the exit. `eosMs` may be shorter: an EOS
 * cannot complete when a track never received a packet (rtpbin has no pad to carry it to that track's
 * muxer input), so waiting the full step would only delay the same outcome.
 */
export function stopLadder(launch: ChildLaunch, stepMs: number, eosMs = stepMs): StopStep[] {
  const finalizeMs = Math.min(stepMs, eosMs);
  const term: StopStep = { action: 'SIGTERM', waitMs: Math.max(1000, Math.round(stepMs / 2)) };
  const repeatMs = launch.repeatFinalizeAfterMs;
  if (repeatMs !== undefined && repeatMs < finalizeMs) {
    return [{ action: launch.finalizeSignal, waitMs: repeatMs }, { action: launch.finalizeSignal, waitMs: finalizeMs - repeatMs }, term];
  }
  return [{ action: launch.finalizeSignal, waitMs: finalizeMs }, term];
}
