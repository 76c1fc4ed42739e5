import type { Container } from '@recstack/contracts';

/**
 * FFmpeg arguments for a stream copy that moves the audio `samples` (at 48 kHz) earlier, cancelling
 * encoder priming the file does not declare (see undeclaredAacPriming). MP4 gets an edit list for the
 * now negative start; Matroska shifts both tracks so they start at zero, keeping them in step.
 *
 * The shift is a number in the output's audio time base, not an expression of `TB`: in a stream copy
 * FFmpeg 5.1 hands the filter packets in the muxer's time base (MP4: the sample rate, which the recorder
 * fixes at 48 kHz; Matroska: milliseconds) while `TB` still names the input's, so `x/TB` is wrong as soon
 * as the two differ (MP4 → Matroska: 1.6 s instead of 33 ms, measured).
 */
export function audioLeadArgs(samples: number, output: Container): string[] {
  if (!Number.isInteger(samples) || samples <= 0) return [];
  const units = output === 'mp4' ? samples : Math.round((samples * 1000) / 48_000);
  return ['-bsf:a', `setts=ts=TS-${units}`];
}
