// STORAGE=nats: the recorder moves each finished file into the JetStream object store, verified by size and
// SHA-256, and removes the local copy only then; an upload that fails keeps the file and is retried.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUCKETS } from '@recstack/contracts';
import { newId } from '@recstack/service-kit';
import { RECORDING_FILES_STREAM } from '@recstack/catalog';
import { decodeErrors, firstVideoFrameIsKeyframe, probe, startRtpPublisher, startService, type RtpPublisher } from '@recstack/testkit';
import { audioTrack, delay, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';

const publishers: RtpPublisher[] = [];
const harnesses: RecorderHarness[] = [];
const scratch: string[] = [];

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all(harnesses.map((h) => h.close()));
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

async function harness(env: Record<string, string>): Promise<RecorderHarness> {
  const h = await startRecorderHarness(env);
  harnesses.push(h);
  return h;
}

/** Records `seconds` of H264 + Opus into an MP4 with a catalog entry, and stops it. */
async function record(h: RecorderHarness, seconds: number) {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort, resolutions: [{ width: 320, height: 180 }] }, audio: { port: audioPort } });
  publishers.push(publisher);
  await events.next('first-keyframe', 15_000);
  await delay(seconds * 1000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();
  return { req, report, events };
}

async function objectBytes(h: RecorderHarness, name: string): Promise<Buffer | undefined> {
  const store = await h.nc.jetstream().views.os(BUCKETS.recordingFiles);
  const blob = await store.getBlob(name);
  return blob ? Buffer.from(blob) : undefined;
}

async function checkPlayable(bytes: Buffer, expectSeconds: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstack-download-'));
  scratch.push(dir);
  const path = join(dir, 'download.mp4');
  await writeFile(path, bytes);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  assert.ok(Math.abs(probed.durationSec - expectSeconds) <= 1.5, `duration ${probed.durationSec} s, expected about ${expectSeconds} s`);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
}

test('STORAGE=nats: the finished file is in the object store (size and digest verified), the local copy is gone, the catalog says nats', async () => {
  const h = await harness({ STORAGE: 'nats' });
  const { req, report, events } = await record(h, 4);
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.storage, 'nats');

  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.storage, 'nats');
  assert.equal(entry.sizeBytes, report.sizeBytes);
  const finished = await events.next('finished');
  assert.equal(finished.report.storage, 'nats');
  // the background verification reads the local copy; it is removed right after, not on the stop's path
  assert.deepEqual((await events.verified()).fileCheck, { decodesCleanly: true, scope: 'full' });
  const local = join(h.dir, report.fileName);
  for (
    let i = 0;
    i < 50 &&
    (await stat(local).then(
      () => true,
      () => false,
    ));
    i++
  )
    await delay(100);
  await assert.rejects(stat(local), 'the local copy is removed');

  const bytes = await objectBytes(h, req.recordingId);
  assert.ok(bytes, 'the object exists');
  assert.equal(bytes.length, report.sizeBytes);
  const store = await h.nc.jetstream().views.os(BUCKETS.recordingFiles);
  const info = await store.info(req.recordingId);
  assert.equal(info?.digest.replace(/=+$/, ''), `SHA-256=${createHash('sha256').update(bytes).digest('base64url')}`);
  await checkPlayable(bytes, 4);
  const log = h.service.logs.find((l) => l.msg === 'file uploaded and verified' && l.recordingId === req.recordingId);
  assert.ok(log, 'the upload was verified');
});

test('STORAGE=nats, the object store refuses the file: reported done with the file kept local, retried, moved once the store takes it', async () => {
  const h = await harness({ STORAGE: 'nats', STORAGE_UPLOAD_WAIT_SECONDS: '2', STORAGE_UPLOAD_RETRY_MAX_SECONDS: '1' });
  // a bucket too small for any recording: every upload is refused by the server
  const jsm = await h.nc.jetstreamManager();
  const streamInfo = await jsm.streams.info(RECORDING_FILES_STREAM);
  await jsm.streams.update(RECORDING_FILES_STREAM, { ...streamInfo.config, max_bytes: 2048 });

  const { req, report } = await record(h, 3);
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.storage, 'local', 'not in the object store yet');
  const path = join(h.dir, report.fileName);
  assert.equal((await stat(path)).size, report.sizeBytes, 'the local file is kept');
  const pending = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(pending.storage, 'local', 'the catalog points at the file that exists');
  assert.equal(await objectBytes(h, req.recordingId), undefined, 'no partial object');
  const [pong] = await h.ping();
  assert.ok(pong?.recordings?.includes(req.recordingId), 'the recorder still holds it (upload pending)');

  await jsm.streams.update(RECORDING_FILES_STREAM, { ...streamInfo.config, max_bytes: -1 });
  const moved = await h.entryWhen(req.recordingId, (r) => r.storage === 'nats', 20_000);
  assert.equal(moved.status, 'done');
  const bytes = await objectBytes(h, req.recordingId);
  assert.equal(bytes?.length, report.sizeBytes);
  for (
    let i = 0;
    i < 50 &&
    (await stat(path).then(
      () => true,
      () => false,
    ));
    i++
  )
    await delay(100);
  await assert.rejects(stat(path), 'the local copy is removed after the move');
  assert.ok(
    h.service.logs.some((l) => l.msg === 'file upload failed' && l.recordingId === req.recordingId),
    'the failures were logged',
  );
  assert.ok(bytes);
  await checkPlayable(bytes, 3);
});

test('STORAGE_MAX_BYTES: the bucket gets the limit; a file that does not fit stays local and done, while catalog writes go on', async () => {
  const h = await harness({ STORAGE: 'nats', STORAGE_MAX_BYTES: '64Ki', STORAGE_UPLOAD_WAIT_SECONDS: '2', STORAGE_UPLOAD_RETRY_MAX_SECONDS: '2' });
  const jsm = await h.nc.jetstreamManager();
  assert.equal((await jsm.streams.info(RECORDING_FILES_STREAM)).config.max_bytes, 64 * 1024, 'the recorder set the limit');

  // a small object fills part of the store on purpose; the recording is larger than what is left
  const store = await h.nc.jetstream().views.os(BUCKETS.recordingFiles);
  await store.putBlob({ name: 'earlier' }, new Uint8Array(16 * 1024).fill(7));
  const { req, report } = await record(h, 4);
  assert.ok(report.sizeBytes > 64 * 1024, `a recording of ${report.sizeBytes} bytes cannot fit`);
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.storage, 'local');
  const path = join(h.dir, report.fileName);
  assert.equal((await stat(path)).size, report.sizeBytes, 'the local file is kept');
  await checkPlayable(await readFile(path), 4);
  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.storage, 'local');
  assert.equal(entry.stopReason, 'requested');
  assert.equal(await objectBytes(h, req.recordingId), undefined, 'no partial object');
  assert.deepEqual(await objectBytes(h, 'earlier'), Buffer.alloc(16 * 1024, 7), 'what the store held is intact');
  const failure = h.service.logs.find((l) => l.msg === 'file upload failed' && l.recordingId === req.recordingId);
  assert.ok(failure, 'the refusal is logged');
  assert.match(JSON.stringify(failure), /does not fit: the object store has \d+ of its 65536 bytes \(STORAGE_MAX_BYTES\) left/);
  assert.equal(h.service.child.exitCode, null, 'the recorder is still up');

  // the catalog (its own bucket) still takes writes while the object store is full
  const other = newId('rec');
  await h.createEntry(other, 'mp4', 'aac');
  assert.equal((await h.entry(other))?.status, 'starting');
});

test('STORAGE=local (default): the file stays in the folder and the catalog says local', async () => {
  const h = await harness({});
  const { req, report } = await record(h, 2);
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.storage, 'local');
  assert.equal((await stat(join(h.dir, report.fileName))).size, report.sizeBytes);
  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.storage, 'local');
  const jsm = await h.nc.jetstreamManager();
  await assert.rejects(jsm.streams.info(RECORDING_FILES_STREAM), /not found/, 'no object store bucket is created');
});

test('STORAGE=nats: an upload still pending when its recorder was killed is finished by the recorder restarted on the folder', async () => {
  const h = await harness({
    STORAGE: 'nats',
    STORAGE_UPLOAD_WAIT_SECONDS: '1',
    STORAGE_UPLOAD_RETRY_MAX_SECONDS: '30',
    RECORDER_RECONCILE_INTERVAL_SECONDS: '3',
  });
  const jsm = await h.nc.jetstreamManager();
  const streamInfo = await jsm.streams.info(RECORDING_FILES_STREAM);
  await jsm.streams.update(RECORDING_FILES_STREAM, { ...streamInfo.config, max_bytes: 2048 });
  const { req, report } = await record(h, 2);
  assert.equal(report.storage, 'local');
  await h.entryWhen(req.recordingId, (r) => r.status === 'done' && r.storage === 'local');
  await h.service.stop('SIGKILL');

  await jsm.streams.update(RECORDING_FILES_STREAM, { ...streamInfo.config, max_bytes: -1 });
  const successor = newId('rcd');
  h.service = await startService('recorder', { ...h.env, RECORDER_ID: successor });
  const moved = await h.entryWhen(req.recordingId, (r) => r.storage === 'nats', 30_000);
  assert.equal(moved.recorderId, successor, 'the successor claimed it');
  assert.equal(moved.status, 'done');
  const bytes = await objectBytes(h, req.recordingId);
  assert.equal(bytes?.length, report.sizeBytes);
  const path = join(h.dir, report.fileName);
  for (
    let i = 0;
    i < 50 &&
    (await stat(path).then(
      () => true,
      () => false,
    ));
    i++
  )
    await delay(100);
  await assert.rejects(stat(path), 'the local copy is removed after the move');
  assert.ok(h.service.logs.some((l) => l.msg === 'resuming the upload of a finished recording' && l.recordingId === req.recordingId));
});
