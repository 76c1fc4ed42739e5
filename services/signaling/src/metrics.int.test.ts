import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import { client, publish, startHarness, type Harness } from './testing/harness.js';
import { WsTestClient } from './testing/ws-client.js';

let h: Harness;
const api = client(() => h.url);

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

/** The value of one sample of the Prometheus text, 0 when absent. */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await api('/metrics')).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

test('/metrics is Prometheus text and its counters move with a recording', async () => {
  const response = await api('/metrics');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  for (const name of [
    'signaling_http_requests_total',
    'signaling_recordings',
    'signaling_ws_clients',
    'process_cpu_seconds_total',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }

  const before = {
    created: await sample('signaling_whip_sessions_created_total', { result: 'ok' }),
    started: await sample('signaling_recordings_started_total', { result: 'ok' }),
    stopped: await sample('signaling_recordings_stopped_total', { result: 'done' }),
    ended: await sample('signaling_recordings_ended_total', { status: 'done' }),
    keyframes: await sample('signaling_recording_first_keyframe_seconds_count'),
    finalized: await sample('signaling_recording_stop_to_finalized_seconds_count'),
    done: await sample('signaling_recordings', { status: 'done' }),
    backend: await sample('signaling_backend_requests_total', { subject: 'media.recording.start', outcome: 'ok' }),
  };
  const ws = await WsTestClient.connect(`${h.url}/ws`);
  await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
  assert.equal(await sample('signaling_ws_clients'), 1);

  const sessionId = await publish(api);
  const started = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
  await ws.waitFor((m) => m.some((x) => x.type === 'recording' && x.recording.id === started.id && x.recording.status === 'recording'), 'recording');
  await api(`/api/recordings/${started.id}/stop`, { method: 'POST' });
  await ws.waitFor((m) => m.some((x) => x.type === 'recording' && x.recording.id === started.id && x.recording.status === 'done'), 'done');
  ws.close();
  await ws.closed();

  assert.equal(await sample('signaling_whip_sessions_created_total', { result: 'ok' }), before.created + 1);
  assert.equal(await sample('signaling_recordings_started_total', { result: 'ok' }), before.started + 1);
  assert.equal(await sample('signaling_recordings_stopped_total', { result: 'done' }), before.stopped + 1);
  assert.equal(await sample('signaling_recordings_ended_total', { status: 'done' }), before.ended + 1);
  assert.equal(await sample('signaling_recording_first_keyframe_seconds_count'), before.keyframes + 1);
  assert.equal(await sample('signaling_recording_stop_to_finalized_seconds_count'), before.finalized + 1);
  assert.equal(await sample('signaling_recordings', { status: 'done' }), before.done + 1);
  assert.equal(await sample('signaling_backend_requests_total', { subject: 'media.recording.start', outcome: 'ok' }), before.backend + 1);
  assert.ok((await sample('signaling_http_requests_total', { method: 'POST', route: '/api/sessions/:sessionId/recordings', status: '201' })) >= 1);
  assert.ok((await sample('signaling_ws_messages_sent_total')) >= 3);
});
