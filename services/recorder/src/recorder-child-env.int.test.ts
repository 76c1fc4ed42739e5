import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { childPid, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';

// The recording children parse what the network sends: whatever they could be made to leak, the service's
// secrets are not in their environment.

const harnesses: RecorderHarness[] = [];
after(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});

async function environOf(pid: number): Promise<Map<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter(Boolean)
      .map((entry) => {
        const at = entry.indexOf('=');
        return [entry.slice(0, at), entry.slice(at + 1)] as const;
      }),
  );
}

for (const engine of ['gstreamer', 'ffmpeg'] as const) {
  test(`${engine}: the recording child gets PATH and GST_* but none of the service's secrets`, async () => {
    const secrets = { API_TOKEN: 'api-token-must-not-leak-0123456789', PUBLISH_TOKEN: 'publish-token-must-not-leak-0123' };
    const h = await startRecorderHarness({ RECORDER_ENGINE: engine, GST_DEBUG: '1', ...secrets });
    harnesses.push(h);
    const password = h.env.NATS_PASSWORD;
    assert.ok(password, 'the recorder connects with a NATS password');
    const [port = 0] = await rtpPorts(1);
    const req = startRequest([videoTrack('h264', port)], 'mkv', null);
    await h.createEntry(req.recordingId, 'mkv', null);
    await h.start(req);
    const pid = await childPid(h, req.recordingId);
    const env = await environOf(pid);
    const values = [...env.values()];
    for (const secret of [password, ...Object.values(secrets)]) assert.ok(!values.some((v) => v.includes(secret)), 'a secret reached the child');
    for (const name of ['NATS_PASSWORD', 'NATS_USER', 'NATS_URL', 'API_TOKEN', 'PUBLISH_TOKEN', 'RECORDER_ID', 'NODE_OPTIONS'])
      assert.equal(env.has(name), false, name);
    assert.ok(env.get('PATH'), 'PATH is passed on');
    assert.equal(env.get('GST_DEBUG'), '1');
    await h.stop(req.recordingId).catch(() => undefined);
  });
}
