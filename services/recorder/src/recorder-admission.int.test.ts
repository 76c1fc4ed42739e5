/**
 * Admission by cost through the real recorder process: RECORDER_CAPACITY_UNITS room for two AAC
 * recordings (436 units each by default), a third start refused with AT_CAPACITY while the two record on
 * untouched; the pong reports the load; the recording children run at RECORDER_CHILD_NICE.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError } from '@recstack/service-kit';
import { decodeErrors, firstVideoFrameIsKeyframe, startRtpPublisher, type RtpPublisher } from '@recstack/testkit';
import {
  audioTrack,
  childPid,
  delay,
  rtpPorts,
  startRecorderHarness,
  startRequest,
  videoSpanMs,
  videoTrack,
  type RecorderHarness,
} from './testing/recorder-harness.js';

const publishers: RtpPublisher[] = [];
let h: RecorderHarness | undefined;

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await h?.close();
});

/** The niceness of a process, from /proc/<pid>/stat (field 19, after the parenthesised command). */
async function niceOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[16]);
}

test('a start beyond the cost capacity gets AT_CAPACITY; the running recordings are untouched; the pong reports the load', { timeout: 120_000 }, async () => {
  // MAX_RECORDINGS would allow 16: the cost is what refuses; the CPU rule is out of the way (a shared test machine)
  h = await startRecorderHarness({ RECORDER_CAPACITY_UNITS: '900', RECORDER_MAX_CPU: '100', RECORDER_CHILD_NICE: '7' });
  const harness = h;
  const running = [];
  for (let i = 0; i < 2; i++) {
    const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
    const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
    await harness.createEntry(req.recordingId, 'mp4', 'aac');
    const events = harness.watch(req.recordingId);
    await harness.start(req);
    const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort, resolutions: [{ width: 320, height: 180 }] }, audio: { port: audioPort } });
    publishers.push(publisher);
    running.push({ req, events, publisher });
  }
  await Promise.all(running.map((r) => r.events.next('first-keyframe', 15_000)));
  const [before] = await harness.ping();
  assert.equal(before?.loadUnits, 872);
  assert.equal(before?.capacityUnits, 900);
  assert.equal(before?.active, 2);

  for (const r of running) assert.equal(await niceOf(await childPid(harness, r.req.recordingId)), 7, 'the child runs at RECORDER_CHILD_NICE');

  // the third costs 436 too: 872 + 436 > 900
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const third = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  const refused = await harness.start(third).catch((err: unknown) => err);
  assert.ok(refused instanceof RemoteError && refused.code === 'AT_CAPACITY', String(refused));
  assert.match(refused.message, /cost 436.*872 of 900/);
  assert.equal(
    harness.service.logs.filter((l) => l.msg === 'recording process started' && l.recordingId === third.recordingId).length,
    0,
    'nothing was spawned for it',
  );
  const [after] = await harness.ping();
  assert.equal(after?.loadUnits, 872, 'a refusal books nothing');

  await delay(3000);
  for (const r of running) {
    const report = await harness.stop(r.req.recordingId);
    assert.equal(report.status, 'done', JSON.stringify(report));
    assert.ok(report.durationMs > 3000, `duration ${report.durationMs}`);
    const path = join(harness.dir, report.fileName);
    assert.equal(await decodeErrors(path), '');
    assert.equal(await firstVideoFrameIsKeyframe(path), true);
    // no gap where the refusal happened
    const span = await videoSpanMs(path);
    assert.ok(Math.abs(span - report.durationMs) < 1000, `video spans ${span} ms of ${report.durationMs} ms`);
    assert.deepEqual((await r.events.verified()).fileCheck, { decodesCleanly: true, scope: 'full' });
  }
  const [idle] = await harness.ping();
  assert.equal(idle?.loadUnits, 0, 'stopped recordings give their cost back');
  // and there is room again
  await harness.start(third);
  await harness.stop(third.recordingId);
});
