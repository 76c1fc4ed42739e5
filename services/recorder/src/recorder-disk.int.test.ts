// Disks cannot fill: a recorder refuses starts under RECORDER_MIN_FREE_BYTES, ends running recordings cleanly
// (`disk-full`) under RECORDER_STOP_FREE_BYTES, caps one file at RECORDER_MAX_FILE_BYTES (`max-size`), and
// never starts a finalizing copy that cannot fit. The folder is a real small tmpfs, filled on purpose.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError } from '@recstack/service-kit';
import { decodeErrors, firstVideoFrameIsKeyframe, probe, startRtpPublisher, type RtpPublisher } from '@recstack/testkit';
import { audioTrack, delay, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';
import { fillUntil, freeBytes, releaseSmallDisks, smallDisk } from './testing/small-disk.js';

const MIB = 1024 * 1024;
const publishers: RtpPublisher[] = [];
const harnesses: RecorderHarness[] = [];

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all(harnesses.map((h) => h.close()));
  await releaseSmallDisks();
});

async function harness(env: Record<string, string>): Promise<RecorderHarness> {
  const h = await startRecorderHarness(env);
  harnesses.push(h);
  return h;
}

async function startH264(h: RecorderHarness, bitrateKbps = 800) {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({
    video: { codec: 'h264', port: videoPort, bitrateKbps, resolutions: [{ width: 640, height: 360 }] },
    audio: { port: audioPort },
  });
  publishers.push(publisher);
  await events.next('first-keyframe', 15_000);
  return { req, events, publisher };
}

/**
 * Streams, duration, a keyframe first and a full decode. `asWritten`: no finalizing copy ran (it did not fit),
 * so neither did the timestamp retiming; under load the muxer's raw file may hold two equal video timestamps,
 * which FFmpeg's null muxer names (every frame still decodes). Only that complaint is allowed then.
 */
async function assertPlayable(path: string, codecs: string[], options: { asWritten?: boolean } = {}): Promise<void> {
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), codecs);
  assert.ok(probed.durationSec > 1, `duration ${probed.durationSec} s`);
  const complaints = (await decodeErrors(path))
    .split('\n')
    .filter((l) => l.trim() && !(options.asWritten && /non monotonically increasing dts to muxer in stream 0/.test(l)));
  assert.deepEqual(complaints, []);
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
}

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

test('under RECORDER_MIN_FREE_BYTES a start is refused with INSUFFICIENT_STORAGE; under RECORDER_STOP_FREE_BYTES a running MP4 ends as disk-full, done and playable; earlier files are intact', async (t) => {
  const disk = await smallDisk(64);
  if ('skip' in disk) return t.skip(disk.skip);
  const { dir } = disk;
  const h = await harness({ RECORDINGS_DIR: dir, RECORDER_MIN_FREE_BYTES: String(24 * MIB), RECORDER_STOP_FREE_BYTES: String(12 * MIB) });

  // a finished recording already in the folder
  const first = await startH264(h);
  await delay(3000);
  const firstReport = await h.stop(first.req.recordingId);
  await first.publisher.stop();
  assert.equal(firstReport.status, 'done', JSON.stringify(firstReport));
  const firstPath = join(dir, firstReport.fileName);
  const firstDigest = await sha(firstPath);

  // not enough room to start: refused before anything is spawned or written
  await fillUntil(dir, 'filler-a', 20 * MIB);
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const refused = await h.start(startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac')).catch((err: unknown) => err);
  assert.ok(refused instanceof RemoteError && refused.code === 'INSUFFICIENT_STORAGE', String(refused));
  assert.match(refused.message, /MiB free for recordings, under its minimum of 24\.0 MiB/);
  const [pong] = await h.ping();
  assert.equal(pong?.active, 0);
  const metrics = await (await fetch(`http://127.0.0.1:${h.opsPort}/metrics`)).text();
  const reported = Number(/^recorder_recordings_dir_free_bytes(?:\{[^}]*\})? (\S+)/m.exec(metrics)?.[1]);
  assert.ok(Math.abs(reported - (await freeBytes(dir))) < 2 * MIB, `free space metric ${reported}`);

  // room again: the recording starts; then the folder fills under the stop floor while it runs
  await rm(join(dir, 'filler-a'));
  const second = await startH264(h);
  await delay(2000);
  await fillUntil(dir, 'filler-b', 8 * MIB);
  const stopping = await second.events.next('stopping', 15_000);
  assert.equal(stopping.reason, 'disk-full');
  const finished = await second.events.next('finished', 60_000);
  await second.publisher.stop();
  const report = finished.report;
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.reason, 'disk-full');
  // the compaction copy did not fit: the crash-safe file stays as written, and plays
  assert.match(h.service.output(), /file rewrite skipped, keeping the file as written/);
  await assertPlayable(join(dir, report.fileName), ['aac', 'h264'], { asWritten: true });
  const entry = await h.entryWhen(second.req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.stopReason, 'disk-full');

  assert.ok((await freeBytes(dir)) > 4 * MIB, 'the folder never filled up');
  assert.equal(await sha(firstPath), firstDigest, 'the earlier recording is untouched');
  await assertPlayable(firstPath, ['aac', 'h264']);
});

test('an MP4 whose compaction copy would not fit is kept as written: done, playable, its index at the front', async (t) => {
  const disk = await smallDisk(48);
  if ('skip' in disk) return t.skip(disk.skip);
  const { dir } = disk;
  const h = await harness({ RECORDINGS_DIR: dir, RECORDER_MIN_FREE_BYTES: String(4 * MIB), RECORDER_STOP_FREE_BYTES: String(2 * MIB) });
  const rec = await startH264(h, 1500);
  await delay(5000);
  // the file stops growing first: filled while it grows, the disk would reach the stop floor (disk-full) before
  // a stop on a busy machine arrives
  await rec.publisher.stop();
  await delay(500);
  const written = (await stat(join(dir, `${rec.req.recordingId}.mp4`))).size;
  // more than the stop floor stays free, but not the file's size on top of it
  await fillUntil(dir, 'filler', 2 * MIB + Math.floor(written / 2));
  const report = await h.stop(rec.req.recordingId);
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.reason, 'requested');
  assert.match(h.service.output(), /not enough free space for the rewrite/);
  await assertPlayable(join(dir, report.fileName), ['aac', 'h264'], { asWritten: true });
  await assert.rejects(stat(join(dir, `${report.fileName}.finalizing.mp4`)), 'no half-written copy is left');
});

test('RECORDER_MAX_FILE_BYTES: a recording ends on its own as max-size, done, its file under the limit', async () => {
  // the test pattern compresses well (about 20 KB/s even with a keyframe every other frame): a small limit
  const limit = 384 * 1024;
  const h = await harness({ RECORDER_MAX_FILE_BYTES: String(limit) });
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('vp8', videoPort), audioTrack(audioPort)], 'webm', 'opus');
  await h.createEntry(req.recordingId, 'webm', 'opus');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({
    video: { codec: 'vp8', port: videoPort, keyframeInterval: 2, resolutions: [{ width: 640, height: 360 }] },
    audio: { port: audioPort },
  });
  publishers.push(publisher);
  const stopping = await events.next('stopping', 60_000);
  assert.equal(stopping.reason, 'max-size');
  const finished = await events.next('finished', 60_000);
  await publisher.stop();
  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
  assert.equal(finished.report.reason, 'max-size');
  assert.ok(finished.report.sizeBytes <= limit, `file of ${finished.report.sizeBytes} bytes, limit ${limit}`);
  assert.ok(finished.report.sizeBytes > limit / 3, `the recording ran until near the limit (${finished.report.sizeBytes} bytes)`);
  await assertPlayable(join(h.dir, finished.report.fileName), ['opus', 'vp8']);
  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.stopReason, 'max-size');
});
