import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StackClient, launchChromium, probe, publishWhip, startStack, startUdpRelay } from '@recstack/testkit';

// The relay with a real browser, as the fidelity tests use it: Chromium's WebRTC goes through it both ways
// (ICE, DTLS, RTP one way; RTCP, NACKs, keyframe requests the other) and a recording is made through it.
test('a Chromium publisher pointed at the UDP relay records through it', { timeout: 180_000 }, async () => {
  const stack = await startStack({ signalingEnv: { RATE_LIMIT_PER_MINUTE: '0' } });
  const browser = await launchChromium();
  const relay = await startUdpRelay({ upstream: { lossPercent: 1 }, seed: 3 });
  const dir = await mkdtemp(join(tmpdir(), 'recstack-relay-'));
  try {
    const client = new StackClient(stack.baseUrl, undefined, 200);
    await client.waitReady(60_000);
    const page = await browser.context.newPage();
    await page.goto(`${stack.baseUrl}/healthz`);
    const session = await publishWhip(page, { videoCodec: 'h264', width: 640, height: 360, candidateOverride: { host: relay.host, port: relay.port } });
    assert.ok(session.mediaCandidate, "media's candidate is read from the answer");
    relay.setTarget(session.mediaCandidate);
    const started = await client.start(session.sessionId);
    const live = await client.waitForStatus(started.id, ['recording', 'failed', 'done'], 30_000);
    assert.equal(live.status, 'recording', JSON.stringify(live));
    await new Promise((r) => setTimeout(r, 4000));
    const done = await client.stop(started.id);
    assert.equal(done.status, 'done', JSON.stringify(done));
    const file = await client.download(done, dir);
    assert.ok((await probe(file)).streams.some((s) => s.codec_type === 'video'));
    assert.ok(relay.upstream.forwarded > 100 && relay.upstream.lost > 0, `upstream ${JSON.stringify(relay.upstream)}`);
    assert.ok(relay.downstream.forwarded > 0, `downstream ${JSON.stringify(relay.downstream)}`);
  } finally {
    await relay.close();
    await browser.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
