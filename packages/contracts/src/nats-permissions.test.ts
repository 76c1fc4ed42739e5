import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKETS } from './buckets.js';
import { NATS_SERVICES, natsAuthorizationConfig, natsInboxPrefix, natsPermissions } from './nats-permissions.js';
import { subjects } from './subjects.js';

test('only recorders subscribe to recorder work; only media asks for it', () => {
  for (const service of NATS_SERVICES) {
    const p = natsPermissions(service);
    assert.equal(p.subscribe.includes(subjects.recorder.start), service === 'recorder', service);
    assert.equal(p.subscribe.includes('recorder.v1.*.start'), service === 'recorder', service);
    assert.equal(p.publish.includes(subjects.recorder.start), service === 'media', service);
  }
});

test('only media writes sessions; the recorder has no access to them at all', () => {
  for (const service of NATS_SERVICES) {
    const p = natsPermissions(service);
    assert.equal(p.publish.includes(`$KV.${BUCKETS.sessions}.>`), service === 'media', service);
  }
  assert.ok(!natsPermissions('recorder').publish.some((s) => s.includes(BUCKETS.sessions)));
});

test("no wildcard reaches beyond a service's own inbox or a bucket of its own", () => {
  for (const service of NATS_SERVICES) {
    const p = natsPermissions(service);
    for (const s of [...p.publish, ...p.subscribe]) {
      assert.ok(!['>', '*.>', '$JS.API.>', '_INBOX.>', '$KV.>', '$O.>'].includes(s), `${service}: ${s}`);
      if (s.startsWith('_INBOX')) assert.equal(s, `${natsInboxPrefix(service)}.>`);
    }
  }
});

test('the configuration quotes every subject and writes passwords as literals or variables', () => {
  const conf = natsAuthorizationConfig({ signaling: { literal: 'a"b' }, media: { variable: 'MEDIA_PW' }, recorder: { literal: 'r' } }, [
    { user: 'test', password: 't' },
  ]);
  assert.ok(conf.includes('password: "a\\"b"'));
  assert.ok(conf.includes('password: $MEDIA_PW'));
  assert.ok(conf.includes('"recorder.v1.start"'));
  assert.ok(conf.includes('{ user: "test", password: "t" }'));
  assert.equal(conf.match(/allow_responses: true/g)?.length, 2);
});
