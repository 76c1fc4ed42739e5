import assert from 'node:assert/strict';
import { decodeErrors, firstVideoFrameIsKeyframe, probe } from '@recstack/testkit';

export interface ExpectedFile {
  video?: string;
  audio?: string;
  durationSec: number;
  toleranceSec: number;
}

/** The checks a user would make on a recording: streams, duration, a clean full decode, a keyframe first. */
export async function assertPlayableRecording(path: string, expected: ExpectedFile): Promise<void> {
  const probed = await probe(path);
  const video = probed.streams.filter((s) => s.codec_type === 'video');
  const audio = probed.streams.filter((s) => s.codec_type === 'audio');
  if (expected.video) {
    assert.equal(video.length, 1, `${path}: one video stream`);
    assert.equal(video[0]?.codec_name, expected.video, `${path}: video codec`);
  } else {
    assert.equal(video.length, 0, `${path}: no video stream`);
  }
  if (expected.audio) {
    assert.equal(audio.length, 1, `${path}: one audio stream`);
    assert.equal(audio[0]?.codec_name, expected.audio, `${path}: audio codec`);
  } else {
    assert.equal(audio.length, 0, `${path}: no audio stream`);
  }
  assert.ok(
    Math.abs(probed.durationSec - expected.durationSec) <= expected.toleranceSec,
    `${path}: duration ${probed.durationSec.toFixed(2)} s, expected ${expected.durationSec} ± ${expected.toleranceSec} s`,
  );
  assert.equal(await decodeErrors(path), '', `${path}: a full decode prints no error`);
  if (expected.video) assert.equal(await firstVideoFrameIsKeyframe(path), true, `${path}: the first video frame is a keyframe`);
}
