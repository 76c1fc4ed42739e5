import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingReport, Segment } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import type { RecordingPlan } from '../recording-plan.js';
import type { SalvageSettings } from '../recovery/salvage.js';
import { gapsBetween, joinSegments, listEntry, type ReadySegment, type SegmentSource } from './join-segments.js';

const seg = (startedAt: string | null, durationMs: number, recorderId = 'rcd_a'): ReadySegment => ({
  segment: { recorderId, startedAt, endedAt: null, file: `${recorderId}.mp4` },
  path: `/tmp/${recorderId}.mp4`,
  durationMs,
});

test('a crash: the time from the end of the first segment to the first keyframe of the next is one gap, placed where the next begins', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 5000), seg('2026-01-01T00:00:06.200Z', 9000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [{ atMs: 5000, ms: 1200 }]);
});

test('a drain that overlaps (the new recorder started before the old one stopped) declares no gap', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 6000), seg('2026-01-01T00:00:05.800Z', 9000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), []);
});

test('a first segment whose file is nowhere is missing time from the recording start', () => {
  const ready = [seg('2026-01-01T00:00:07.000Z', 8000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [{ atMs: 0, ms: 7000 }]);
});

test('two handovers: two gaps, each at the joined time of its segment', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 3000), seg('2026-01-01T00:00:03.500Z', 4000, 'rcd_b'), seg('2026-01-01T00:00:08.000Z', 2000, 'rcd_c')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [
    { atMs: 3000, ms: 500 },
    { atMs: 7000, ms: 500 },
  ]);
});

test('a gap is placed where the join started the next segment, and measured from the end of this one’s media', () => {
  // segment 0's media runs 3833 ms (its last audio packet's end); the next segment's AAC priming moved it 33 ms later
  const first = { ...seg('2026-01-01T00:00:00.000Z', 3833), joinedUs: 3_866_333 };
  const ready = [first, seg('2026-01-01T00:00:04.500Z', 4000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [{ atMs: 3866, ms: 667 }]);
});

test('the concat list gives a segment its joined duration when the join set one', () => {
  assert.equal(listEntry(seg('2026-01-01T00:00:00.000Z', 3813)), "file '/tmp/rcd_a.mp4'\n");
  assert.equal(listEntry({ ...seg('2026-01-01T00:00:00.000Z', 3813), joinedUs: 3_833_000 }), "file '/tmp/rcd_a.mp4'\nduration 3.833000\n");
  assert.equal(listEntry({ ...seg(null, 1), path: "/tmp/it's.webm" }), "file '/tmp/it'\\''s.webm'\n");
});

test('a segment without a known start declares nothing it cannot measure', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 3000), seg(null, 4000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), []);
});

describe('joinSegments when the segments are not joined', () => {
  const logger = createLogger('join-test', 'silent');
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recstack-join-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const plan = (): RecordingPlan => ({
    recordingId: 'rec_a',
    sessionId: 'ses_a',
    engine: 'gstreamer',
    container: 'webm',
    audioCodec: 'opus',
    video: undefined,
    audio: undefined,
    bindAddress: '127.0.0.1',
    fileName: 'rec_a-s1.webm',
    outputPath: join(dir, 'rec_a-s1.webm'),
    writePath: join(dir, 'rec_a-s1.webm'),
    writeContainer: 'webm',
    finalize: 'none',
    audioLeadSamples: 0,
    maxDurationMs: 60_000,
  });
  const own: RecordingReport = {
    recordingId: 'rec_a',
    sessionId: 'ses_a',
    recorderId: 'rcd_b',
    status: 'done',
    fileName: 'rec_a-s1.webm',
    sizeBytes: 1000,
    durationMs: 3000,
    container: 'webm',
    audioCodec: 'opus',
    tracks: [],
    decodesCleanly: false,
    decodeCheck: 'pending',
    startedAt: '2026-01-01T00:00:04.000Z',
    stoppedAt: '2026-01-01T00:00:07.000Z',
    reason: 'requested',
  };
  const segment0: Segment = { recorderId: 'rcd_a', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:03.000Z', file: 'rec_a.webm' };
  const settings = (ffmpeg = 'ffmpeg'): SalvageSettings => ({
    recorderId: 'rcd_b',
    recordingsDir: dir,
    engine: 'gstreamer',
    bindAddress: '127.0.0.1',
    maxDurationMs: 60_000,
    tools: { ffmpeg, ffprobe: 'ffprobe' },
    keepFreeBytes: 0,
    verify: false,
  });
  /** the object store as the join sees it: every call recorded */
  const store = (size: number) => {
    const calls: string[] = [];
    const source: SegmentSource = {
      size: async (file) => (calls.push(`size ${file}`), size),
      fetch: async (file) => (calls.push(`fetch ${file}`), false),
      discard: async (file) => void calls.push(`discard ${file}`),
    };
    return { calls, source };
  };

  test('a segment in the object store that cannot fit is neither fetched nor discarded: INSUFFICIENT_STORAGE names its object', async () => {
    await writeFile(join(dir, 'rec_a-s1.webm'), Buffer.alloc(1000, 1));
    // more than any disk has free
    const { calls, source } = store(2 ** 60);
    const report = await joinSegments(own, plan(), [segment0], settings(), logger, source);
    assert.deepEqual(calls, ['size rec_a.webm'], 'only its size was asked');
    assert.equal(report.fileName, 'rec_a-s1.webm');
    assert.deepEqual(
      report.segments?.map((s) => s.file),
      ['rec_a.webm', 'rec_a-s1.webm'],
    );
    assert.equal(report.gaps, undefined);
    assert.equal(report.error?.code, 'INSUFFICIENT_STORAGE');
    assert.match(report.error.message, /^the 2 segments of this recording were not joined, not enough free space for joining the segments \(/);
    assert.match(report.error.message, /kept as written: segments\/rec_a\.webm in the object store$/);
    assert.deepEqual(await readdir(dir), ['rec_a-s1.webm']);
  });

  test('a join that fails (not for room) keeps every segment as written and says RECORDER_FAILED', async () => {
    await writeFile(join(dir, 'rec_a.webm'), Buffer.alloc(500, 2));
    await writeFile(join(dir, 'rec_a-s1.webm'), Buffer.alloc(1000, 1));
    const { calls, source } = store(0);
    // an FFmpeg that fails every copy
    const report = await joinSegments(own, plan(), [segment0], settings('false'), logger, source);
    assert.deepEqual(calls, [], 'the local segment needs no object, and none is discarded');
    assert.equal(report.status, 'done');
    assert.equal(report.fileName, 'rec_a-s1.webm');
    assert.equal(report.error?.code, 'RECORDER_FAILED');
    assert.match(report.error.message, /not joined, the join failed\. This file is its last segment; the earlier ones are kept as written: rec_a\.webm$/);
    assert.deepEqual((await readdir(dir)).sort(), ['rec_a-s1.webm', 'rec_a.webm']);
  });
});
