// The segment join never starts a copy that cannot fit (issue 8, point 7): a handed-over recording whose join
// (and, with STORAGE=nats, the fetch of its earlier segment) would not fit in the free space with
// RECORDER_STOP_FREE_BYTES to spare is not joined. Its segments stay as written and playable, the recording is
// `done` with its last segment as its file and says so in `error` (INSUFFICIENT_STORAGE). The folder is a
// real small tmpfs, filled on purpose after the segments were written; a real recorder process records both
// segments from real RTP (VP8 + Opus in WebM: no finalizing copy of its own, so a copy seen is the join's).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUCKETS, rpc, type RecordingReport, type Segment } from '@recstack/contracts';
import { call } from '@recstack/service-kit';
import { decodeErrors, firstVideoFrameIsKeyframe, probe, startRtpPublisher, type RtpPublisher } from '@recstack/testkit';
import { audioTrack, delay, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from '../testing/recorder-harness.js';
import { fillUntil, freeBytes, releaseSmallDisks, smallDisk } from '../testing/small-disk.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** RECORDER_STOP_FREE_BYTES (and RECORDER_MIN_FREE_BYTES) of these recorders */
const STOP_FREE = MIB;
const SEGMENT_MS = 3000;
const publishers: RtpPublisher[] = [];
const harnesses: RecorderHarness[] = [];
const scratch: string[] = [];

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all(harnesses.map((h) => h.close()));
  await releaseSmallDisks();
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

async function harness(dir: string, env: Record<string, string> = {}): Promise<RecorderHarness> {
  const h = await startRecorderHarness({
    RECORDINGS_DIR: dir,
    RECORDER_MIN_FREE_BYTES: String(STOP_FREE),
    RECORDER_STOP_FREE_BYTES: String(STOP_FREE),
    ...env,
  });
  harnesses.push(h);
  return h;
}

/** The recorder's RECORDINGS_DIR: the small disk (the harness's own `dir` is not used here). */
function folder(h: RecorderHarness): string {
  const dir = h.env.RECORDINGS_DIR;
  assert.ok(dir);
  return dir;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Starts one segment of `recording` (with the earlier ones listed, as media does after a handover). */
async function startSegment(h: RecorderHarness, recording: { recordingId: string; sessionId: string }, previous: Segment[]) {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = { ...startRequest([videoTrack('vp8', videoPort), audioTrack(audioPort)], 'webm', 'opus'), ...recording };
  if (previous.length > 0) req.segment = { index: previous.length, previous };
  const events = h.watch(recording.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({
    video: { codec: 'vp8', port: videoPort, bitrateKbps: 2000, keyframeInterval: 30, resolutions: [{ width: 640, height: 360 }] },
    audio: { port: audioPort },
  });
  publishers.push(publisher);
  const first = await events.next('first-keyframe', 15_000);
  await delay(Math.max(0, Date.parse(first.at) + SEGMENT_MS - Date.now()));
  return { events, publisher, startedAt: first.at };
}

/** Segment 0 of a new recording, handed over (the recording goes on elsewhere: here, on the same recorder). */
async function recordFirstSegment(h: RecorderHarness) {
  const recording = startRequest([], 'webm', 'opus');
  const ids = { recordingId: recording.recordingId, sessionId: recording.sessionId };
  await h.createEntry(ids.recordingId, 'webm', 'opus');
  const running = await startSegment(h, ids, []);
  const report = await call(h.nc, rpc.recorder.stop, { ...ids, reason: 'shutdown', handover: true }, { id: h.recorderId, timeoutMs: 60_000 });
  running.events.close();
  await running.publisher.stop();
  assert.equal(report.status, 'done', JSON.stringify(report.error));
  const segment0: Segment = { recorderId: h.recorderId, startedAt: running.startedAt, endedAt: report.stoppedAt, file: report.fileName };
  // the time between the segments is what a handover costs
  await delay(500);
  return { ids, segment0 };
}

/** Every file name that appears in `dir` while it runs, and the least free space seen (sampled every 10 ms). */
function observe(dir: string) {
  const names = new Set<string>();
  const watcher = watch(dir, (_event, name) => {
    if (name) names.add(name.toString());
  });
  let minFree = Number.POSITIVE_INFINITY;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      minFree = Math.min(minFree, await freeBytes(dir));
      await delay(10);
    }
  })();
  return {
    async end() {
      sampling = false;
      await sampler;
      watcher.close();
      return { names: [...names], minFree };
    },
  };
}

/**
 * Segment 1 runs on `h`; once it has written SEGMENT_MS, the folder is filled so that the stop floor plus half
 * of both segments stays free (the join needs both, a fetch one more), and the recording is stopped. The
 * recorder's disk watch may end it first (`disk-full`): either way the join comes after.
 */
async function lastSegmentOnFullDisk(h: RecorderHarness, ids: { recordingId: string; sessionId: string }, segment0: Segment, segment0Bytes: number) {
  const running = await startSegment(h, ids, [segment0]);
  const ownPath = join(folder(h), `${ids.recordingId}-s1.webm`);
  const ownBytes = (await stat(ownPath)).size;
  await fillUntil(folder(h), 'filler', STOP_FREE + Math.floor((segment0Bytes + ownBytes) / 2));
  const freeAfterFill = await freeBytes(folder(h));
  const seen = observe(folder(h));
  const report = await h.stop(ids.recordingId, 'requested', 90_000);
  const { names, minFree } = await seen.end();
  running.events.close();
  await running.publisher.stop();
  // (a join would have removed the segment's file)
  const ownGrowth = ((await stat(ownPath).catch(() => undefined))?.size ?? ownBytes) - ownBytes;
  console.log(JSON.stringify({ segment0Bytes, ownBytes, ownGrowth, freeAfterFill, minFree, reason: report.reason, names }));
  return { report, names, minFree, freeAfterFill, ownGrowth, ownPath };
}

function assertNotJoined(report: RecordingReport, recordingId: string, segment0: Segment): void {
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.fileName, `${recordingId}-s1.webm`, 'the recording’s file is its last segment');
  assert.deepEqual(
    report.segments?.map((s) => s.file),
    [segment0.file, `${recordingId}-s1.webm`],
    'every segment is listed with its file',
  );
  assert.equal(report.gaps, undefined, 'no gaps: there is no joined file');
  assert.equal(report.error?.code, 'INSUFFICIENT_STORAGE', JSON.stringify(report.error));
  assert.match(
    report.error.message,
    /^the 2 segments of this recording were not joined, not enough free space for (joining the segments|fetching a segment) \(/,
  );
  assert.match(report.error.message, /This file is its last segment; the earlier ones are kept as written: /);
}

/** No copy was started: no file of the join appeared, and nothing but the recording itself used space. */
function assertNoCopy(seen: { names: string[]; minFree: number; freeAfterFill: number; ownGrowth: number }): void {
  assert.deepEqual(
    seen.names.filter((n) => /\.joining\.|\.rewriting\.|\.download$|\.segments\.txt$|\.finalizing\./.test(n)),
    [],
    'no copy of the join was started',
  );
  // the own segment's last writes (until EOS) and a few pages of file system bookkeeping, nothing more
  assert.ok(
    seen.minFree >= seen.freeAfterFill - seen.ownGrowth - 64 * KIB,
    `free space fell to ${seen.minFree} from ${seen.freeAfterFill}, the recording itself wrote ${seen.ownGrowth}`,
  );
}

async function assertPlayable(path: string): Promise<void> {
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);
  assert.ok(probed.durationSec > 1, `${path}: duration ${probed.durationSec} s`);
  assert.equal(await decodeErrors(path), '', `${path} decodes cleanly`);
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
}

test(
  'STORAGE=local: a join that would not fit is not started; both segments stay as written and play, the recording is done with its last segment and says INSUFFICIENT_STORAGE; with room again a join on the same disk works',
  { timeout: 180_000 },
  async (t) => {
    const disk = await smallDisk(32);
    if ('skip' in disk) return t.skip(disk.skip);
    const h = await harness(disk.dir);

    const { ids, segment0 } = await recordFirstSegment(h);
    const segment0Path = join(folder(h), segment0.file);
    const segment0Bytes = await readFile(segment0Path);
    const last = await lastSegmentOnFullDisk(h, ids, segment0, segment0Bytes.length);

    assertNotJoined(last.report, ids.recordingId, segment0);
    assert.match(last.report.error?.message ?? '', new RegExp(`kept as written: ${segment0.file.replace('.', '\\.')}$`));
    assertNoCopy(last);
    assert.match(h.service.output(), /segments not joined: not enough free space, each segment kept as written/);
    assert.equal(sha(await readFile(segment0Path)), sha(segment0Bytes), 'segment 0 is byte for byte as written');
    assert.deepEqual(
      (await readdir(folder(h))).filter((f) => f.startsWith(ids.recordingId)).sort(),
      [segment0.file, `${ids.recordingId}-s1.webm`].sort(),
      'the two segment files, nothing else',
    );
    await assertPlayable(segment0Path);
    await assertPlayable(last.ownPath);

    const entry = await h.entryWhen(ids.recordingId, (r) => r.status === 'done');
    assert.equal(entry.fileName, `${ids.recordingId}-s1.webm`);
    assert.equal(entry.error?.code, 'INSUFFICIENT_STORAGE');
    assert.deepEqual(
      entry.segments?.map((s) => s.file),
      [segment0.file, `${ids.recordingId}-s1.webm`],
    );
    assert.ok(entry.stopReason === 'requested' || entry.stopReason === 'disk-full', String(entry.stopReason));

    // room again: the same recorder on the same small disk joins the next handed-over recording
    await rm(join(folder(h), 'filler'));
    const next = await recordFirstSegment(h);
    const running = await startSegment(h, next.ids, [next.segment0]);
    const seen = observe(folder(h));
    const joined = await h.stop(next.ids.recordingId, 'requested', 90_000);
    const { names } = await seen.end();
    running.events.close();
    await running.publisher.stop();
    assert.equal(joined.status, 'done', JSON.stringify(joined));
    assert.equal(joined.error, undefined);
    assert.equal(joined.fileName, `${next.ids.recordingId}.webm`);
    assert.equal(joined.gaps?.length, 1, JSON.stringify(joined.gaps));
    assert.ok(names.includes(`${next.ids.recordingId}.joining.webm`), `the watch sees a join's copy: ${names.join(', ')}`);
    assert.deepEqual(
      (await readdir(folder(h))).filter((f) => f.startsWith(next.ids.recordingId)),
      [joined.fileName],
    );
    await assertPlayable(join(folder(h), joined.fileName));
  },
);

test(
  'STORAGE=nats: an earlier segment whose fetch and join would not fit is not fetched; it stays in the object store as written, the last segment is the recording’s object, INSUFFICIENT_STORAGE says where the other is',
  { timeout: 180_000 },
  async (t) => {
    const disk = await smallDisk(32);
    if ('skip' in disk) return t.skip(disk.skip);
    const h = await harness(disk.dir, { STORAGE: 'nats' });
    const store = await h.nc.jetstream().views.os(BUCKETS.recordingFiles);

    const { ids, segment0 } = await recordFirstSegment(h);
    const objectName = `segments/${segment0.file}`;
    const uploaded = await store.getBlob(objectName);
    assert.ok(uploaded, 'the handed-over segment is in the object store');
    await assert.rejects(stat(join(folder(h), segment0.file)), 'its local copy is gone');
    const last = await lastSegmentOnFullDisk(h, ids, segment0, uploaded.length);

    assertNotJoined(last.report, ids.recordingId, segment0);
    assert.match(last.report.error?.message ?? '', new RegExp(`kept as written: segments/${segment0.file.replace('.', '\\.')} in the object store$`));
    assertNoCopy(last);
    await assert.rejects(stat(join(folder(h), segment0.file)), 'segment 0 was not fetched');
    const kept = await store.getBlob(objectName);
    assert.ok(kept && sha(Buffer.from(kept)) === sha(Buffer.from(uploaded)), 'segment 0 stays in the object store byte for byte');

    const entry = await h.entryWhen(ids.recordingId, (r) => r.status === 'done' && r.storage === 'nats');
    assert.equal(entry.fileName, `${ids.recordingId}-s1.webm`);
    assert.equal(entry.error?.code, 'INSUFFICIENT_STORAGE');
    const recordingObject = await store.getBlob(ids.recordingId);
    assert.ok(recordingObject, 'the last segment is the recording’s object');
    assert.equal(recordingObject.length, last.report.sizeBytes);

    const downloads = await mkdtemp(join(tmpdir(), 'recstack-join-space-'));
    scratch.push(downloads);
    for (const [name, bytes] of [
      ['segment0.webm', kept],
      ['segment1.webm', recordingObject],
    ] as const) {
      await writeFile(join(downloads, name), bytes);
      await assertPlayable(join(downloads, name));
    }
  },
);
