import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@recstack/service-kit';
import type { DecodeCheck } from '../finalize/file-probe.js';
import { VerificationQueue, type Decoder, type VerificationResult, type VerifyMode } from './verification-queue.js';

const logger = createLogger('recorder-test', 'silent');

/** A decoder whose decodes end when the test says: shows what runs at once and in which order. */
function controlledDecoder() {
  const started: string[] = [];
  const signals: AbortSignal[] = [];
  const pending = new Map<string, (check: DecodeCheck) => void>();
  const decode: Decoder = (path, _budget, _mode, signal) =>
    new Promise((resolve) => {
      started.push(path);
      signals.push(signal);
      pending.set(path, resolve);
    });
  const finish = async (path: string, check: DecodeCheck = { clean: true, scope: 'full', errors: [] }) => {
    for (let i = 0; i < 100 && !pending.has(path); i++) await new Promise((r) => setTimeout(r, 5));
    const resolve = pending.get(path);
    assert.ok(resolve, `${path} is being decoded`);
    pending.delete(path);
    resolve(check);
  };
  return { decode, started, signals, finish };
}

async function files(names: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'recstack-verify-'));
  const paths = names.map((n) => join(dir, n));
  for (const p of paths) await writeFile(p, 'x');
  return { dir, paths };
}

function queue(mode: VerifyMode, decode: Decoder, concurrency = 1) {
  const results: VerificationResult[] = [];
  const q = new VerificationQueue({ mode, concurrency, timeoutMs: 1000 }, decode, async (r) => void results.push(r), logger);
  return { q, results };
}

const job = (id: string, path: string) => ({ recordingId: id, sessionId: 'ses_1', path });

test('one file at a time by default, in arrival order; each result names its recording, scope and mode', async () => {
  const { dir, paths } = await files(['a.mp4', 'b.mp4', 'c.mp4']);
  const [a = '', b = '', c = ''] = paths;
  const d = controlledDecoder();
  const { q, results } = queue('full', d.decode);
  q.enqueue(job('rec_a', a));
  q.enqueue(job('rec_b', b));
  q.enqueue(job('rec_c', c));
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(d.started, [a], 'the second waits for the first');
  await d.finish(a);
  await d.finish(b, { clean: false, scope: 'full', errors: ['error while decoding MB 1 2'] });
  await d.finish(c, { clean: true, scope: 'partial', errors: [] });
  await q.idle();
  assert.deepEqual(d.started, [a, b, c]);
  assert.deepEqual(
    results.map((r) => [r.job.recordingId, r.fileCheck, r.mode]),
    [
      ['rec_a', { decodesCleanly: true, scope: 'full' }, 'full'],
      ['rec_b', { decodesCleanly: false, scope: 'full' }, 'full'],
      ['rec_c', { decodesCleanly: true, scope: 'partial' }, 'full'],
    ],
  );
  await rm(dir, { recursive: true });
});

test('a file deleted before or during its verification is dropped without a result', async () => {
  const { dir, paths } = await files(['a.mp4', 'b.mp4']);
  const [a = '', b = ''] = paths;
  const d = controlledDecoder();
  const { q, results } = queue('keyframes', d.decode);
  q.enqueue(job('rec_a', a));
  q.enqueue(job('rec_b', b));
  for (let i = 0; i < 100 && d.started.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  await rm(b);
  await rm(a);
  // FFmpeg complains when its input disappears: that is not a finding about the file
  await d.finish(a, { clean: false, scope: 'full', errors: ['No such file or directory'] });
  await q.idle();
  assert.deepEqual(d.started, [a], 'b was gone before its turn');
  assert.deepEqual(results, []);
  await rm(dir, { recursive: true });
});

test('off: nothing is queued; close() forgets what waits and kills a running decode without waiting for it', async () => {
  const { dir, paths } = await files(['a.mp4', 'b.mp4']);
  const [a = '', b = ''] = paths;
  const off = queue('off', controlledDecoder().decode);
  assert.equal(off.q.enqueue(job('rec_a', a)), false);

  const d = controlledDecoder();
  const { q, results } = queue('full', d.decode);
  q.enqueue(job('rec_a', a));
  q.enqueue(job('rec_b', b));
  const bSettled = q.settled('rec_b');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(d.signals[0]?.aborted, false);
  q.close();
  q.close();
  assert.equal(d.signals[0]?.aborted, true, 'the running decode is told to end');
  await bSettled;
  assert.equal(q.enqueue(job('rec_c', a)), false, 'closed');
  await d.finish(a);
  await q.idle();
  assert.deepEqual(d.started, [a]);
  assert.deepEqual(results, [], 'a result arriving after close is not reported');
  await rm(dir, { recursive: true });
});

test('RECORDER_VERIFY_CONCURRENCY runs that many at once', async () => {
  const { dir, paths } = await files(['a.mp4', 'b.mp4', 'c.mp4']);
  const [a = '', b = '', c = ''] = paths;
  const d = controlledDecoder();
  const { q } = queue('full', d.decode, 2);
  for (const [i, p] of paths.entries()) q.enqueue(job(`rec_${i}`, p));
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(d.started, [a, b]);
  await d.finish(b);
  await d.finish(a);
  await d.finish(c);
  await q.idle();
  await rm(dir, { recursive: true });
});

test('a hold (a recording starting here) pauses the running decode and begins no other until released', async () => {
  const { dir, paths } = await files(['a.mp4', 'b.mp4']);
  const [a = '', b = ''] = paths;
  const gates: boolean[][] = [];
  const d = controlledDecoder();
  const decode: Decoder = (path, budget, mode, signal, pause) => {
    const seen: boolean[] = [];
    gates.push(seen);
    pause.watch((paused) => seen.push(paused));
    return d.decode(path, budget, mode, signal, pause);
  };
  const { q, results } = queue('full', decode);
  q.enqueue(job('rec_a', a));
  await new Promise((r) => setTimeout(r, 20));
  const first = q.hold();
  const second = q.hold();
  q.enqueue(job('rec_b', b));
  assert.deepEqual(gates[0], [true], 'the running decode is paused');
  await d.finish(a);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(d.started, [a], 'nothing begins while held');
  first();
  first();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(d.started, [a], 'one hold left');
  second();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(d.started, [a, b], 'released: the next begins');
  assert.deepEqual(gates[1], [], 'and is not paused');
  await d.finish(b);
  await q.idle();
  assert.equal(results.length, 2);
  q.close();
  await rm(dir, { recursive: true, force: true });
});
