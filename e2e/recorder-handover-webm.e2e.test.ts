// Continuity (issue 12) off the default path: two recorders, a publisher in Chromium sending VP8 + Opus over
// WHIP, recorded to WebM (Opus copied). kill -9 of the recorder that records (and its GStreamer child) at 5 s
// of 15 s: media hands the recording over, the next recorder rewrites the dead one's WebM (its muxer never
// wrote the duration) and joins it with its own.
//
// The FFmpeg engine is not used here: with Chromium behind Medooze its first video frame sometimes gets a
// timestamp about 2^31 ticks (6.4 h) away from the rest (its RTP demuxer's mapping through the first sender
// report), which breaks any FFmpeg-engine recording from Chromium, handed over or not; its joins are tested
// with the test kit's RTP publishers in services/recorder/src/segments/join-segments.int.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launchChromium, probe, startStack, type ServiceProcess, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertHandedOverAfterKill, killRecorder, recorderIdOf, startRecording, stopRecording, untilRecorded } from './handover-checks.js';
import { assertPlayableRecording } from './recording-checks.js';

let stack: TestStack;
let browser: TestBrowser;
const recorders = new Map<string, ServiceProcess>();

before(async () => {
  stack = await startStack({ recorders: 2 });
  for (const r of stack.recorders) recorders.set(await recorderIdOf(r), r);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test(
  'VP8 + Opus in WebM: kill -9 of the recorder that records at 5 s of 15 s gives one file, done, one gap of at most 2 s, a clean decode from a keyframe',
  { timeout: 180_000 },
  async () => {
    const { recording, close } = await startRecording(browser, stack.baseUrl, { videoCodec: 'vp8', container: 'webm' });
    assert.equal(recording.container, 'webm');
    const killedId = recording.recorderId ?? '';
    const killed = recorders.get(killedId);
    assert.ok(killed, `recorder ${killedId} holds the recording`);
    await untilRecorded(recording, 5000);
    await killRecorder(killed);
    await untilRecorded(recording, 15_000);
    const done = await stopRecording(stack.baseUrl, recording.id);
    console.log(`vp8/webm kill -9: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments })}`);
    // 0.7 s more allowed than for MP4: the recording's startedAt (its first keyframe) is seen when matroskamux's
    // first bytes leave filesink's buffer, 0.5-1 s after the first frame (mp4mux writes its header at once), so
    // a WebM holds that much more than its wall time, handed over or not (measured: the first segment 1.05 s
    // more than startedAt → kill, the file 0.6 s more than wall time − gap)
    assertHandedOverAfterKill(done, killedId, 5000, { lateStartMs: 700 });

    assert.equal(done.fileName, `${recording.id}.webm`);
    const path = join(stack.recordingsDir, done.fileName);
    const probed = await probe(path);
    assert.ok(Math.abs(probed.durationSec * 1000 - (done.durationMs ?? 0)) <= 500, `file ${probed.durationSec} s, recording object ${done.durationMs} ms`);
    await assertPlayableRecording(path, { video: 'vp8', audio: 'opus', durationSec: (done.durationMs ?? 0) / 1000, toleranceSec: 0.5 });
    const left = (await readdir(stack.recordingsDir)).filter((f) => f.startsWith(recording.id) && f !== done.fileName);
    assert.deepEqual(left, [], 'the segment files are gone once joined');
    await close();
  },
);
