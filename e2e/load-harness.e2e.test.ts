import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@recstack/testkit';
import type { LoadReport } from '../loadtest/load-report.js';

// The harness end to end at its smallest: its own stack, three replay publishers through the impairment
// relay (2 % loss), one find-capacity step. Asserts what the report's data says happened, never a figure and
// never its wording.
test('make load, find-capacity, one step of 3 replay publishers at 2 % loss: the report accounts for every recording', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstack-load-e2e-'));
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(REPO_ROOT, 'loadtest', 'main.ts')], {
    env: {
      ...process.env,
      LOAD_URL: '',
      LOAD_PUBLISHER: 'replay',
      LOAD_MODE: 'find-capacity',
      LOAD_STEP: '3',
      LOAD_MAX_PUBLISHERS: '3',
      LOAD_STEP_SECONDS: '8',
      LOAD_RAMP_SECONDS: '1',
      LOAD_LOSS: '2',
      LOAD_CHAOS: '',
      LOAD_RESULTS_DIR: dir,
      LOAD_RESULT: 'e2e',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    assert.equal(code, 0, output.slice(-3000));
    const report = JSON.parse(await readFile(join(dir, 'e2e.json'), 'utf8')) as LoadReport;
    assert.equal(report.mode, 'find-capacity');
    assert.equal(report.steps.length, 1);
    assert.equal(report.steps[0]?.publishers, 3);
    // the one step either held (capacity 3) or broke at 3: nothing else is possible
    assert.ok(report.capacity === 3 ? report.brokeAt === undefined : report.brokeAt === 3, `${report.capacity} / ${report.brokeAt}`);
    assert.equal(report.recordings.length, 3);
    // a 503 to a start is the stack protecting itself (the recorders' CPU admission runs as in production, and
    // this machine may be busy): counted apart, never a broken recording; at least one must have recorded
    const recorded = report.recordings.filter((r) => r.status !== 'refused');
    assert.ok(recorded.length > 0, 'at least one recording was accepted');
    assert.equal(report.totals.refused, 3 - recorded.length);
    for (const r of recorded) {
      assert.equal(r.status, 'done', JSON.stringify(r));
      assert.ok(r.verdict.length > 0);
      assert.ok((r.rtpSent ?? 0) > 0, 'the publisher counted its video packets');
    }
    assert.equal(report.steps[0]?.recording, recorded.length, 'the step counts the recordings that ran');
    assert.equal(
      Object.values(report.recorders).reduce((a, n) => a + n, 0),
      recorded.length,
      'every recording names its recorder',
    );
    // the relay was in the path and lost packets; media answered through it (ICE, DTLS, RTCP)
    assert.ok(report.relay, 'a relay report');
    assert.ok(report.relay.upstream.forwarded > 0 && report.relay.upstream.lost > 0, JSON.stringify(report.relay));
    assert.ok(report.relay.downstream.forwarded > 0);
    assert.equal(typeof report.mediaDrops, 'number', "media's socket drops are read for a local stack");
    const measured = new Set(report.usage.flatMap((u) => Object.keys(u.cpu)));
    for (const name of ['signaling', 'media', 'recorder 1', 'generator']) assert.ok(measured.has(name), `CPU of ${name} sampled`);
    assert.ok(
      report.activity.some((a) => a.recording === recorded.length),
      'the timeline saw every accepted recording running at once',
    );
    // the page embeds the run's data (its charts are drawn from it): the same as the JSON file
    const html = await readFile(join(dir, 'e2e.html'), 'utf8');
    const embedded = /<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    assert.ok(embedded, 'the page has a data element');
    assert.deepEqual(JSON.parse(embedded), report);
    assert.ok((await stat(join(dir, 'e2e.md'))).size > 0, 'the Markdown report is written');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
