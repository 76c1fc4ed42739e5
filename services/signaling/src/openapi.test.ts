import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import { createApp, type AppDeps } from './app.js';
import { buildOpenApiDocument } from './openapi.js';
import { ResponseValidator, documentedOperations, registeredOperations } from './testing/openapi-conformance.js';

/** The app with inert dependencies: enough to see which routes it registers. */
function routerOfApp() {
  const deps = {
    logger: createLogger('test', 'silent'),
    publicDir: '/nonexistent',
    auth: { tokens: {} },
    trustProxy: false,
    limits: { sdpBytes: 1000, jsonBodyBytes: 1000, ratePerMinute: 0 },
    isShuttingDown: () => false,
  } as unknown as AppDeps;
  return createApp(deps).router;
}

const doc = buildOpenApiDocument({ version: 'test', authRequired: true });

test('every route the app registers is in the API document, and nothing else is', () => {
  const documented = documentedOperations(doc).map((o) => `${o.method.toUpperCase()} ${o.path}`);
  const registered = registeredOperations(routerOfApp())
    // the router answers HEAD for every GET; the document lists HEAD where it means something
    .filter((o) => o.method !== 'head' || documented.includes(`HEAD ${o.path}`))
    .map((o) => `${o.method.toUpperCase()} ${o.path}`);
  assert.ok(registered.length >= 14, `the router registers the API (${registered.length} operations)`);
  assert.deepEqual([...new Set(registered)].sort(), [...new Set(documented)].sort());
});

test('the document is OpenAPI 3.1 and every reference in it resolves', () => {
  assert.equal(doc.openapi, '3.1.0');
  const refs: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === '$ref' && typeof v === 'string') refs.push(v);
        else walk(v);
      }
    }
  };
  walk(doc);
  assert.ok(refs.length > 10);
  for (const ref of refs) {
    let node: unknown = doc;
    for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)?.[part];
    assert.ok(node, `${ref} resolves`);
  }
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { responses?: object }>>)) {
    for (const [method, op] of Object.entries(item)) assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
  }
});

test('the validator built from the document accepts a real recording and refuses wrong ones', () => {
  const validator = new ResponseValidator(doc);
  const now = new Date().toISOString();
  const stored: Recording = {
    id: 'rec_1',
    sessionId: 'ses_1',
    status: 'done',
    createdAt: now,
    startedAt: now,
    stoppedAt: now,
    updatedAt: now,
    durationMs: 8000,
    sizeBytes: 1000,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [{ kind: 'video', codec: 'h264', width: 640, height: 480 }],
    fileName: 'rec_1.mp4',
    storage: 'local',
    mediaId: 'med_1',
    recorderId: 'rcd_1',
    firstKeyframeMs: 200,
    stopReason: 'requested',
  };
  const recording = { ...stored, mediaUrl: '/api/recordings/rec_1/media?expires=1&sig=x' };
  assert.throws(() => validator.check('GET', '/api/recordings/rec_1', 200, 'application/json', stored), /does not match/, 'the API view carries mediaUrl');
  assert.equal(validator.check('GET', '/api/recordings/rec_1', 200, 'application/json; charset=utf-8', recording), '/api/recordings/{id}');
  validator.check('GET', '/api/recordings', 200, 'application/json', [recording, { ...recording, id: 'rec_2', error: { code: 'TIMEOUT', message: 'x' } }]);
  assert.throws(() => validator.check('GET', '/api/recordings/rec_1', 200, 'application/json', { ...recording, status: 'paused' }), /does not match/);
  assert.throws(() => validator.check('GET', '/api/recordings/rec_1', 200, 'application/json', { ...recording, createdAt: 'yesterday' }), /does not match/);
  assert.throws(() => validator.check('GET', '/api/recordings/rec_1', 418, 'application/json', {}), /not documented/);
  validator.check('POST', '/whip', 400, 'application/json', { error: { code: 'BAD_REQUEST', message: 'bad' } });
  assert.throws(() => validator.check('POST', '/whip', 400, 'application/json', { error: { code: 'OOPS', message: 'bad' } }), /does not match/);
  validator.check('POST', '/whip', 401, 'application/json', { error: { code: 'UNAUTHORIZED', message: 'authentication required' } });
  validator.check('GET', '/api/recordings/rec_1/media', 206, 'video/mp4', '');
});
