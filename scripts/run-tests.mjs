#!/usr/bin/env node
// Runs one tier of tests with node's own test runner, TypeScript loaded by tsx from sources.
//   unit         *.test.ts (not .int/.e2e), in parallel
//   integration  *.int.test.ts, one file at a time (real nats-server, Medooze, GStreamer)
//   e2e          *.e2e.test.ts, one file at a time (the whole stack and Chromium)
// Extra arguments are passed to `node --test` (for example --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const tier = process.argv[2];
const extra = process.argv.slice(3);
const roots = ['packages', 'services', 'e2e', 'deploy', 'bench', 'loadtest', 'scripts'];
const skip = new Set(['node_modules', 'dist', '.git']);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), path));
  }
  return out;
}

const all = roots.flatMap((r) => walk(r, []));
const pick = {
  unit: (f) => !f.endsWith('.int.test.ts') && !f.endsWith('.e2e.test.ts'),
  integration: (f) => f.endsWith('.int.test.ts'),
  e2e: (f) => f.endsWith('.e2e.test.ts'),
}[tier];
if (!pick) {
  console.error('usage: run-tests.mjs unit|integration|e2e [node --test options]');
  process.exit(2);
}
const files = all.filter(pick).sort();
if (files.length === 0) {
  console.error(`no ${tier} test files found`);
  process.exit(1);
}
console.log(`${tier}: ${files.length} test files`);
const args = [
  '--conditions=development',
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${tier === 'unit' ? 2 : 1}`,
  // a file whose tests and after() hooks are done ends even if a library left a handle open (werift's
  // sockets and timers kept loss-repair.e2e's process alive after its last test, and the run waited forever)
  '--test-force-exit',
  ...extra,
  ...files,
];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
process.exit(result.status ?? 1);
