import { decodeErrors, firstVideoFrameIsKeyframe, probe } from '@recstack/testkit';

export interface ExpectedRecording {
  video: string | undefined;
  audio: string | undefined;
  durationSec: number;
  toleranceSec: number;
}

/**
 * What a user would find wrong with a downloaded recording: missing or extra streams, a duration off by
 * more than the tolerance, a decoder-only pass (`ffmpeg -v error -i F -fps_mode vfr -f null -`) that prints errors, a first video frame that is not a keyframe.
 * Empty when the file is right. Under load a problem is a result to report, not an exception.
 */
export async function fileProblems(path: string, expected: ExpectedRecording): Promise<string[]> {
  const problems: string[] = [];
  const probed = await probe(path).catch((err: unknown) => err as Error);
  if (probed instanceof Error) return [`ffprobe cannot read it: ${probed.message.split('\n')[0] ?? ''}`];
  for (const kind of ['video', 'audio'] as const) {
    const streams = probed.streams.filter((s) => s.codec_type === kind).map((s) => s.codec_name);
    const wanted = expected[kind];
    if (wanted && (streams.length !== 1 || streams[0] !== wanted)) problems.push(`${kind} streams [${streams.join(', ')}], expected [${wanted}]`);
    if (!wanted && streams.length > 0) problems.push(`unexpected ${kind} streams [${streams.join(', ')}]`);
  }
  if (!(Math.abs(probed.durationSec - expected.durationSec) <= expected.toleranceSec)) {
    problems.push(`lasts ${probed.durationSec.toFixed(2)} s, expected ${expected.durationSec.toFixed(1)} ± ${expected.toleranceSec} s`);
  }
  const errors = await decodeErrors(path).catch((err: unknown) => `ffmpeg failed: ${(err as Error).message}`);
  if (errors !== '') problems.push(`decode errors: ${errors.split('\n').slice(0, 2).join(' | ')}`);
  if (expected.video && !(await firstVideoFrameIsKeyframe(path).catch(() => false))) problems.push('the first video frame is not a keyframe');
  return problems;
}
