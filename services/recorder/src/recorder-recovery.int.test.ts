// A recorder that dies in the middle of a recording never leaves the catalog wrong: a restarted recorder on
// the same folder ends the orphaned children (EOS) and salvages their files, salvages files whose child died
// too, and any recorder marks failed what nobody holds any more.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { markFailed } from '@recstack/catalog';
import { rpc, type Recording } from '@recstack/contracts';
import { call, newId } from '@recstack/service-kit';
import { decodeErrors, firstVideoFrameIsKeyframe, freeTcpPort, probe, startRtpPublisher, startService, type RtpPublisher } from '@recstack/testkit';
import {
  audioTrack,
  childPid,
  delay,
  processAlive,
  rtpPorts,
  startRecorderHarness,
  startRequest,
  topLevelBoxes,
  videoSpanMs,
  videoTrack,
  type RecorderHarness,
} from './testing/recorder-harness.js';

const publishers: RtpPublisher[] = [];
const harnesses: RecorderHarness[] = [];
const pids: number[] = [];

after(async () => {
  // a failed test must not leave orphans behind
  for (const pid of pids) if (await processAlive(pid)) process.kill(pid, 'SIGKILL');
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all(harnesses.map((h) => h.close()));
});

async function harness(env: Record<string, string> = {}): Promise<RecorderHarness> {
  const h = await startRecorderHarness({ RECORDER_RECONCILE_INTERVAL_SECONDS: '3', RECORDER_STOP_TIMEOUT: '5', ...env });
  harnesses.push(h);
  return h;
}

/** Starts an H264 + Opus MP4 recording with its catalog entry naming this recorder (as media writes it). */
async function startRecording(h: RecorderHarness, codec: 'h264' | 'vp9' = 'h264') {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack(codec, videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  await h.catalog.update(req.recordingId, (r) => ({ ...r, recorderId: h.recorderId, mediaId: 'med_gone' }));
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec, port: videoPort, resolutions: [{ width: 320, height: 180 }] }, audio: { port: audioPort } });
  publishers.push(publisher);
  await events.next('first-keyframe', 15_000);
  const pid = await childPid(h, req.recordingId);
  pids.push(pid);
  return { req, events, publisher, pid, startedAt: Date.now() };
}

async function assertPlayable(path: string, codec: string): Promise<void> {
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', codec].sort());
  assert.equal(await decodeErrors(path), '', `${path} decodes cleanly`);
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
}

test('SIGKILL of the recorder service: its restart (another id) ends the orphaned child with EOS and reports the recording done', async () => {
  const h = await harness();
  const rec = await startRecording(h);
  await delay(5000);
  await h.service.stop('SIGKILL');
  assert.equal(await processAlive(rec.pid), true, 'the child outlives its recorder (its own process group)');
  const orphanedFor = Date.now();

  const successor = newId('rcd');
  h.service = await startService('recorder', { ...h.env, RECORDER_ID: successor });
  const finished = await rec.events.next('finished', 40_000);
  const adoptedAfterMs = Date.now() - orphanedFor;
  await rec.publisher.stop();
  assert.equal(await processAlive(rec.pid), false, 'the orphan is gone');
  assert.ok(h.service.logs.some((l) => l.msg === 'orphaned recording processes found'));
  assert.ok(h.service.logs.some((l) => l.msg === 'orphaned recording process signalled' && l.signal === 'SIGINT' && l.pid === rec.pid));

  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
  assert.equal(finished.report.reason, 'error');
  assert.equal(finished.report.recorderId, successor);
  const entry = await h.entryWhen(rec.req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.stopReason, 'error');
  assert.equal(entry.recorderId, successor);
  assert.equal(entry.storage, 'local');
  // the orphan kept recording until its successor ended it
  const recordedMs = finished.report.durationMs;
  console.log(`orphan adopted ${adoptedAfterMs} ms after its recorder died; ${recordedMs} ms recorded`);
  assert.ok(recordedMs >= 5000, `duration ${recordedMs} ms`);
  const path = join(h.dir, finished.report.fileName);
  assert.equal((await stat(path)).size, entry.sizeBytes);
  await assertPlayable(path, 'h264');
  const boxes = await topLevelBoxes(path);
  assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), 'compacted, index at the front');
  // a stop asked of the successor (signaling falls back to the recorder named in the catalog) gets the report
  const viaStop = await call(h.nc, rpc.recorder.stop, { recordingId: rec.req.recordingId, reason: 'requested' }, { id: successor, timeoutMs: 5000 });
  assert.equal(viaStop.status, 'done');
  assert.equal(viaStop.durationMs, finished.report.durationMs);
});

test('SIGKILL of service and children: the restart salvages both files; an entry media already marked failed keeps failed but gets the recovered file', async () => {
  const h = await harness();
  const a = await startRecording(h);
  const b = await startRecording(h, 'vp9'); // written as Matroska, remuxed into MP4 on salvage
  await delay(4000);
  for (const pid of [a.pid, b.pid]) process.kill(pid, 'SIGKILL');
  await h.service.stop('SIGKILL');
  const recordedMs = Date.now() - Math.max(a.startedAt, b.startedAt);
  await Promise.all([a.publisher.stop(), b.publisher.stop()]);
  // what media does when a recorder stops answering its pings
  await h.catalog.update(b.req.recordingId, (r) =>
    markFailed(r, { code: 'RECORDER_UNAVAILABLE', message: `recorder ${h.recorderId} stopped answering` }, new Date()),
  );

  h.service = await startService('recorder', { ...h.env, RECORDER_ID: newId('rcd') });
  const doneA = await h.entryWhen(a.req.recordingId, (r) => r.status === 'done', 40_000);
  assert.equal(doneA.stopReason, 'error');
  assert.ok(doneA.durationMs !== null && doneA.durationMs >= recordedMs - 2500, `kept ${doneA.durationMs} of ${recordedMs} ms`);
  await assertPlayable(join(h.dir, doneA.fileName), 'h264');

  const failedB = await h.entryWhen(b.req.recordingId, (r) => r.durationMs !== null, 40_000);
  assert.equal(failedB.status, 'failed', 'status never moves backwards');
  assert.equal(failedB.error?.code, 'RECORDER_UNAVAILABLE');
  assert.match(failedB.error?.message ?? '', /recovered/);
  assert.ok((failedB.sizeBytes ?? 0) > 0);
  const pathB = join(h.dir, failedB.fileName);
  assert.equal((await stat(pathB)).size, failedB.sizeBytes);
  await assertPlayable(pathB, 'vp9');
  await assert.rejects(stat(`${pathB}.partial.mkv`), 'the intermediate file is gone');
  assert.ok((await videoSpanMs(pathB)) > 1500);
});

test('reconciliation: an open entry whose recorder and media are gone and whose file is nowhere is marked failed; live recordings are left alone', async () => {
  const h = await harness({ RECORDER_RECONCILE_GRACE_SECONDS: '2' });
  const live = await startRecording(h);
  const longAgo = new Date(Date.now() - 60_000).toISOString();
  const ghost: Recording = {
    id: newId('rec'),
    sessionId: newId('ses'),
    status: 'recording',
    createdAt: longAgo,
    startedAt: longAgo,
    stoppedAt: null,
    updatedAt: longAgo,
    durationMs: null,
    sizeBytes: null,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [],
    fileName: 'x.mp4',
    storage: 'local',
    mediaId: 'med_ghost',
    recorderId: 'rcd_ghost',
    firstKeyframeMs: 10,
    stopReason: null,
  };
  ghost.fileName = `${ghost.id}.mp4`;
  await h.catalog.create(ghost);
  const events = h.watch(ghost.id);
  const failed = await h.entryWhen(ghost.id, (r) => r.status === 'failed', 30_000);
  assert.equal(failed.error?.code, 'RECORDER_UNAVAILABLE');
  assert.equal(failed.stopReason, 'error');
  assert.equal((await events.next('failed', 5000)).error.code, 'RECORDER_UNAVAILABLE');

  const running = await h.entry(live.req.recordingId);
  assert.equal(running?.status, 'recording', 'its own running recording is untouched');
  assert.equal(await processAlive(live.pid), true);
  const report = await h.stop(live.req.recordingId);
  await live.publisher.stop();
  assert.equal(report.status, 'done');
});

test('two recorders restarted on the same folder at once: exactly one salvages the recording (the catalog claim)', async () => {
  const h = await harness();
  const rec = await startRecording(h);
  await delay(3000);
  process.kill(rec.pid, 'SIGKILL');
  await h.service.stop('SIGKILL');
  await rec.publisher.stop();

  const [first, second] = await Promise.all([
    startService('recorder', { ...h.env, RECORDER_ID: newId('rcd') }),
    startService('recorder', { ...h.env, RECORDER_ID: newId('rcd'), OPS_PORT: String(await freeTcpPort()) }),
  ]);
  h.service = first;
  try {
    const done = await h.entryWhen(rec.req.recordingId, (r) => r.status === 'done', 40_000);
    // give the slower one its round too: it must find the recording taken or finished, not salvage it again
    await delay(8000);
    const salvages = [first, second].flatMap((s) =>
      s.logs.filter((l) => l.msg === 'salvaging a recording whose recorder is gone' && l.recordingId === rec.req.recordingId),
    );
    assert.equal(salvages.length, 1, 'salvaged once');
    assert.equal(done.recorderId, salvages[0]?.recorderId);
    await assertPlayable(join(h.dir, done.fileName), 'h264');
  } finally {
    await second.stop();
  }
});
