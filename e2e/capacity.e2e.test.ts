// Admission over the whole stack (real nats-server, signaling, two media instances, a recorder): signaling
// places each WHIP session on the media instance with room, and beyond every instance's capacity WHIP
// answers 503 AT_CAPACITY with Retry-After; a recording start beyond the recorders' capacity does too.
// No publisher needs to connect for either: sessions and recorder starts are admitted on the offer alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { freeTcpPort, freeUdpRange, startService, startStack, type ServiceProcess, type TestStack } from '@recstack/testkit';

let stack: TestStack;
let secondMedia: ServiceProcess | undefined;
let offer: string;

before(async () => {
  offer = await readFile(new URL('../services/media/src/fixtures/chromium-default.sdp', import.meta.url), 'utf8');
  stack = await startStack({ mediaEnv: { MAX_SESSIONS: '1', MEDIA_ENDPOINTS: '1', MEDIA_ID: 'med_capone' }, recorderEnv: { MAX_RECORDINGS: '1' } });
  const first = stack.envFor('media');
  const udp = await freeUdpRange(60);
  const recorderPorts = await freeUdpRange(100, undefined, undefined, [udp]);
  secondMedia = await startService('media', {
    ...first,
    MEDIA_ID: 'med_captwo',
    OPS_PORT: String(await freeTcpPort()),
    MEDIA_UDP_PORT_MIN: String(udp.min),
    MEDIA_UDP_PORT_MAX: String(udp.max),
    RECORDER_PORT_MIN: String(recorderPorts.min),
    RECORDER_PORT_MAX: String(recorderPorts.max),
  });
  // signaling asks the media instances for their load every 2 s: let it see the second one
  await new Promise((r) => setTimeout(r, 3000));
});

after(async () => {
  await secondMedia?.stop();
  await stack?.stop();
});

async function whip(): Promise<Response> {
  return fetch(`${stack.baseUrl}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
}

async function mediaOf(location: string): Promise<string> {
  const sessionId = location.split('/').pop() ?? '';
  const res = await fetch(`${stack.baseUrl}/api/sessions/${sessionId}`);
  return ((await res.json()) as { mediaId: string }).mediaId;
}

test(
  'one session per instance: the second goes to the other instance, the third is refused with 503 AT_CAPACITY and Retry-After',
  { timeout: 120_000 },
  async () => {
    const first = await whip();
    assert.equal(first.status, 201, await first.clone().text());
    const second = await whip();
    assert.equal(second.status, 201, await second.clone().text());
    const placed = [await mediaOf(first.headers.get('location') ?? ''), await mediaOf(second.headers.get('location') ?? '')];
    assert.deepEqual(placed.sort(), ['med_capone', 'med_captwo']);

    const third = await whip();
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '10');
    const body = (await third.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'AT_CAPACITY');

    // a recording start beyond the recorder's MAX_RECORDINGS: 503 AT_CAPACITY with Retry-After too
    const sessions = [first, second].map((r) => (r.headers.get('location') ?? '').split('/').pop() ?? '');
    const started = await fetch(`${stack.baseUrl}/api/sessions/${sessions[0]}/recordings`, { method: 'POST' });
    assert.equal(started.status, 201, await started.clone().text());
    const refused = await fetch(`${stack.baseUrl}/api/sessions/${sessions[1]}/recordings`, { method: 'POST' });
    assert.equal(refused.status, 503, await refused.clone().text());
    assert.equal(refused.headers.get('retry-after'), '10');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'AT_CAPACITY');
  },
);
