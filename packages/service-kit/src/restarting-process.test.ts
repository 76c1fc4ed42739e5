import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createLogger } from './logger.js';
import { RestartBackoff, RestartingProcess, type Clock, type RestartScheduled } from './restarting-process.js';
import { SupervisedProcess } from './supervised-process.js';

const logger = createLogger('restart-test', 'silent');
const POLICY = { initialDelayMs: 1000, maxDelayMs: 8000, stableAfterMs: 60_000 };

/** A clock that moves only when told to. */
class FakeClock implements Clock {
  time = 0;
  private timers: Array<{ at: number; fn: () => void }> = [];
  now(): number {
    return this.time;
  }
  schedule(fn: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((t) => t !== timer));
  }
  get pending(): number[] {
    return this.timers.map((t) => t.at - this.time);
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.fn();
  }
}

/** a real node child running `script` */
const node = (script: string) => () => new SupervisedProcess(process.execPath, ['-e', script], logger, { stdio: ['ignore', 'pipe', 'pipe'] });

test('waits double with each exit in a row, are capped, and start over after a stable run', () => {
  const backoff = new RestartBackoff(POLICY);
  assert.deepEqual(
    [10, 10, 10, 10, 10, 10].map((ran) => backoff.next(ran)),
    [1000, 2000, 4000, 8000, 8000, 8000],
  );
  assert.equal(backoff.consecutiveFailures, 6);
  assert.equal(backoff.next(59_999), 8000, 'not yet stable');
  assert.equal(backoff.next(60_000), 1000, 'ran a minute: the next wait is the first one again');
  assert.equal(backoff.consecutiveFailures, 1);
  assert.equal(backoff.next(0), 2000);
});

test('a process that exits on its own is restarted after the backoff, with its exit code, and again with a longer wait', async () => {
  const clock = new FakeClock();
  let spawned = 0;
  const service = new RestartingProcess('crasher', () => (spawned++, node('process.exit(3)')()), logger, POLICY, clock);
  const restarts: RestartScheduled[] = [];
  service.on('restarting', (r) => restarts.push(r));
  service.start();
  await once(service, 'restarting');
  assert.equal(spawned, 1);
  assert.equal(restarts[0]?.exit.code, 3);
  assert.equal(restarts[0]?.exit.unexpected, true);
  assert.equal(restarts[0]?.delayMs, 1000);
  assert.deepEqual(clock.pending, [1000]);
  assert.equal(service.current, undefined, 'nothing runs while the restart waits');
  clock.advance(999);
  assert.equal(spawned, 1, 'not before the wait is over');
  clock.advance(1);
  assert.equal(spawned, 2);
  await once(service, 'restarting');
  assert.equal(restarts[1]?.delayMs, 2000);
  assert.equal(restarts[1]?.restarts, 2);
  await service.stop([{ action: 'SIGTERM', waitMs: 1000 }]);
  clock.advance(10_000);
  assert.equal(spawned, 2, 'stop() cancelled the pending restart');
});

test('a kill -9 is reported with its signal; a process that had run stably gets the short wait again', async () => {
  const clock = new FakeClock();
  const service = new RestartingProcess('victim', node('setInterval(() => {}, 1000)'), logger, POLICY, clock);
  const started: number[] = [];
  service.on('started', (s) => started.push(s.pid ?? 0));
  service.start();
  for (const expected of [1000, 1000]) {
    const pid = started.at(-1) ?? 0;
    clock.advance(120_000); // it has been running for two minutes
    process.kill(pid, 'SIGKILL');
    const [restart] = (await once(service, 'restarting')) as [RestartScheduled];
    assert.equal(restart.exit.signal, 'SIGKILL');
    assert.equal(restart.exit.code, null);
    assert.equal(restart.delayMs, expected);
    clock.advance(restart.delayMs);
    assert.notEqual(started.at(-1), pid, 'a new process');
  }
  assert.ok(service.current?.running);
  const exit = await service.stop([{ action: 'SIGTERM', waitMs: 2000 }]);
  assert.equal(exit?.signal, 'SIGTERM');
  assert.equal(exit?.unexpected, false);
  assert.deepEqual(clock.pending, [], 'an asked-for exit is not restarted');
  assert.equal(await service.stop([{ action: 'SIGTERM', waitMs: 10 }]), undefined, 'stop is idempotent');
});

test('its output comes through, from every process it starts', async () => {
  const clock = new FakeClock();
  const service = new RestartingProcess('talker', node('console.log("hello " + process.pid); process.exit(1)'), logger, POLICY, clock);
  const lines: string[] = [];
  service.on('line', (line) => lines.push(line));
  service.start();
  await once(service, 'restarting');
  clock.advance(1000);
  await once(service, 'restarting');
  await service.stop([{ action: 'SIGTERM', waitMs: 100 }]);
  assert.equal(lines.length, 2);
  assert.notEqual(lines[0], lines[1]);
  for (const line of lines) assert.match(line, /^hello \d+$/);
});
