// Losses repaired before the file (issue 11 item 2): a real Chromium publishes through the test kit's UDP
// impairment relay (random loss and 30 ms of jitter on everything it sends to media; media's NACKs and
// keyframe requests come back unimpaired), the whole stack records it, and the file is decoded in full.
// At 2 % and 5 % loss Medooze's NACKs and Chromium's RTX repair every gap before the recorder: not one
// decoder error. At 10 % with a 0.8 s blackout of the retransmissions (and three video packets lost with it)
// some gaps stay unrepaired for sure:
// media asks for a keyframe as soon as it gives a packet up, so the damage (frames undecodable or frozen up
// to the next keyframe) lasts about a second, not until Chromium's own next keyframe (every 3000 frames,
// over a minute): measured and printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  StackClient,
  ReplayPublisher,
  decodeErrors,
  ensureReplayMedia,
  firstVideoFrameIsKeyframe,
  launchChromium,
  longestDamagedStretch,
  longestVideoGap,
  probe,
  publishWhip,
  rtpPayloadTypeIs,
  startStack,
  startUdpRelay,
  type ReplayMedia,
  type TestBrowser,
  type TestStack,
  type WhipSession,
} from '@recstack/testkit';
import type { Recording } from '@recstack/contracts';

const RECORD_MS = 8000;
/** Chromium's fake camera */
const FAKE_CAMERA_FPS = 20;
const JITTER_MS = 30;
/**
 * every RTX packet dropped for this long (and the first three video packets of it): longer than media's
 * longest hold (750 ms), so those gaps are given up
 */
const RTX_BLACKOUT_MS = 800;
/**
 * A correctness bound, not a timing figure: the blackout starts 3 s into an 8 s recording, so damage that
 * waits for Chromium's own next keyframe (3000 frames apart) lasts 4.5 s or more; a keyframe asked for at the
 * first given-up packet ends it within the blackout plus a request or two.
 */
const DAMAGE_BOUND_MS = 3500;

/** The payload types of RTX in an SDP (`a=rtpmap:<pt> rtx/90000`). */
function rtxPayloadTypes(sdp: string): number[] {
  return [...sdp.matchAll(/^a=rtpmap:(\d+) rtx\/90000/gim)].map((m) => Number(m[1]));
}

let stack: TestStack;
let browser: TestBrowser;
let client: StackClient;
let scratch: string;
let replayMedia: ReplayMedia;

before(async () => {
  stack = await startStack({ signalingEnv: { RATE_LIMIT_PER_MINUTE: '0' } });
  browser = await launchChromium();
  client = new StackClient(stack.baseUrl, undefined, 200);
  await client.waitReady(60_000);
  scratch = await mkdtemp(join(tmpdir(), 'recstack-loss-'));
  replayMedia = await ensureReplayMedia(scratch, { codec: 'h264', width: 640, height: 360, fps: 30, kbps: 800, keyframeSeconds: 10, seconds: 12 });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Records RECORD_MS of the fake camera through a relay with this loss; returns the downloaded file. */
async function recordThroughLoss(
  videoCodec: 'h264' | 'vp8',
  lossPercent: number,
  seed: number,
  during: (relay: Awaited<ReturnType<typeof startUdpRelay>>, session: WhipSession) => Promise<void> = async () => undefined,
): Promise<{ file: string; relay: string; done: Recording }> {
  const relay = await startUdpRelay({ upstream: { lossPercent, jitterMs: JITTER_MS }, seed });
  const page = await browser.context.newPage();
  try {
    await page.goto(`${stack.baseUrl}/healthz`);
    const session = await publishWhip(page, { videoCodec, width: 640, height: 360, candidateOverride: { host: relay.host, port: relay.port } });
    assert.ok(session.mediaCandidate, "media's candidate is read from the answer");
    relay.setTarget(session.mediaCandidate);
    const started = await client.start(session.sessionId);
    const live = await client.waitForStatus(started.id, ['recording', 'failed', 'done'], 30_000);
    assert.equal(live.status, 'recording', JSON.stringify(live));
    const recording = new Promise((r) => setTimeout(r, RECORD_MS));
    await during(relay, session);
    await recording;
    const done = await client.stop(started.id);
    assert.equal(done.status, 'done', JSON.stringify(done));
    await fetch(`${stack.baseUrl}${session.location}`, { method: 'DELETE' });
    const file = await client.download(done, scratch);
    if (lossPercent > 0) assert.ok(relay.upstream.lost > 0, `the relay dropped packets: ${JSON.stringify(relay.upstream)}`);
    return { file, relay: `relay upstream ${JSON.stringify(relay.upstream)}`, done };
  } finally {
    await page.close();
    await relay.close();
  }
}

for (const videoCodec of ['h264', 'vp8'] as const) {
  for (const lossPercent of [2, 5]) {
    test(`${videoCodec}, ${lossPercent} % loss + ${JITTER_MS} ms jitter: the file decodes without a single error`, { timeout: 120_000 }, async (t) => {
      const { file, relay } = await recordThroughLoss(videoCodec, lossPercent, 11 + lossPercent);
      const gap = await longestVideoGap(file);
      t.diagnostic(`${relay}; ${gap.frames} frames, ${gap.keyframes} keyframes, longest frame gap ${gap.longestMs} ms at ${gap.atSec.toFixed(2)} s`);
      assert.equal(await decodeErrors(file), '', `${file}: a full decode prints no error`);
      assert.equal(await firstVideoFrameIsKeyframe(file), true, 'the first video frame is a keyframe');
    });
  }

  test(
    `${videoCodec}, 10 % loss + ${JITTER_MS} ms jitter and a ${RTX_BLACKOUT_MS / 1000} s RTX blackout: the damage lasts until a keyframe media asks for`,
    { timeout: 120_000 },
    async (t) => {
      let blackedOut = 0;
      const { file, relay, done } = await recordThroughLoss(videoCodec, 10, 31, async (r, session) => {
        const answer = session.answer ?? '';
        const rtx = rtxPayloadTypes(answer);
        assert.ok(rtx.length > 0, 'the answer has RTX for video');
        const isRtx = rtx.map((pt) => rtpPayloadTypeIs(pt));
        const isVideo = rtpPayloadTypeIs(Number(/^m=video \d+ \S+ (\d+)/m.exec(answer)?.[1]));
        await new Promise((res) => setTimeout(res, 3000));
        const before = r.upstream.lost;
        // the random loss alone may give nothing up within the blackout: three video packets in a row are lost
        // for sure, with every resend of them
        let lostOnPurpose = 0;
        r.dropUpstream((packet) => isRtx.some((is) => is(packet)) || (isVideo(packet) && lostOnPurpose++ < 3));
        await new Promise((res) => setTimeout(res, RTX_BLACKOUT_MS));
        r.dropUpstream(undefined);
        blackedOut = r.upstream.lost - before;
      });
      const probed = await probe(file);
      assert.ok(
        probed.streams.some((s) => s.codec_type === 'video'),
        'ffprobe reads a video stream',
      );
      assert.ok(probed.durationSec > (RECORD_MS / 1000) * 0.6, `duration ${probed.durationSec} s`);
      assert.equal(await firstVideoFrameIsKeyframe(file), true, 'the first video frame is a keyframe');
      const gap = await longestVideoGap(file);
      const damaged = await longestDamagedStretch(file);
      // frames dropped up to the end of the recording leave no gap between two frames: the file just ends early
      const trailingMs = Math.max(0, Math.round((probed.durationSec - gap.lastSec) * 1000));
      const longestMs = Math.max(gap.longestMs, trailingMs, damaged.longestMs);
      const gapRequests = stack.media.logs.filter(
        (l) => l.msg === 'keyframe requested on a given-up video packet' && l.recordingId === done.id && l.followUp === false,
      ).length;
      t.diagnostic(
        `${relay}; ${blackedOut} packets dropped during the RTX blackout; ${gap.frames} frames, ${gap.keyframes} keyframes; ` +
          `longest frozen stretch ${gap.longestMs} ms at ${gap.atSec.toFixed(2)} s, no frame in the last ${trailingMs} ms; ` +
          `longest undecodable stretch ${damaged.longestMs} ms at ${damaged.atSec.toFixed(2)} s (${damaged.damagedFrames} frames, ` +
          `${damaged.errorLines} damage lines); ` +
          `longest damaged stretch ${longestMs} ms; keyframes requested on a given-up packet ${gapRequests} (follow-ups not counted), in all ` +
          `${done.stats?.keyframesRequested ?? '?'}, in the file ${done.stats?.keyframesReceived ?? '?'}`,
      );
      // without a request the damage runs until Chromium's next keyframe, which does not come within the
      // recording (about 4.5 s after the blackout began); with one it ends at the keyframe media asked for
      assert.ok(gapRequests >= 1, 'media saw a packet given up during the blackout and asked for a keyframe');
      assert.ok(longestMs < DAMAGE_BOUND_MS, `longest damaged stretch ${longestMs} ms`);
    },
  );
}

// A burst instead of random loss: every video packet (media and RTX) dropped for 1.5 s mid-recording. What
// the file shows of it is printed: the longest stretch without frames, and whether anything failed to decode.
const BURST_MS = 1500;
const isOpus = rtpPayloadTypeIs(111);
/** RTP that is not Chromium's Opus: video and its RTX (RTCP, STUN and DTLS pass) */
const NOT_OPUS = (packet: Buffer): boolean => {
  const second = packet[1] ?? 0;
  return packet.length >= 12 && (packet[0] ?? 0) >> 6 === 2 && !(second >= 192 && second <= 223) && !isOpus(packet);
};
test(
  `h264, a ${BURST_MS / 1000} s outage of all video packets: the file plays from a keyframe, the outage shows as a freeze`,
  { timeout: 120_000 },
  async (t) => {
    let dropped = 0;
    const { file, relay } = await recordThroughLoss('h264', 0, 41, async (r) => {
      await new Promise((res) => setTimeout(res, 3000));
      const before = r.upstream.lost;
      r.dropUpstream(NOT_OPUS);
      await new Promise((res) => setTimeout(res, BURST_MS));
      r.dropUpstream(undefined);
      dropped = r.upstream.lost - before;
    });
    assert.ok(dropped > 20, `the relay dropped ${dropped} video packets`);
    assert.equal(await firstVideoFrameIsKeyframe(file), true, 'the first video frame is a keyframe');
    const gap = await longestVideoGap(file);
    const errors = await decodeErrors(file);
    const { durationSec } = await probe(file);
    t.diagnostic(
      `${relay}; ${gap.frames} frames in ${durationSec.toFixed(2)} s, ${gap.keyframes} keyframes; longest frozen stretch ${gap.longestMs} ms at ${gap.atSec.toFixed(2)} s; decoder errors: ${errors.split('\n').filter(Boolean).length}`,
    );
    // the outage shows as a frozen stretch, or it was repaired whole: media's NACKs once the path is back, with
    // Chromium's pacer having held its frames back meanwhile (seen in CI: every frame there, 51 ms at most
    // between two). Which one is the sender's doing; frames missing without a visible freeze is neither.
    const repairedWhole = gap.frames >= Math.floor(durationSec * FAKE_CAMERA_FPS * 0.9);
    assert.ok(gap.longestMs > 100 || repairedWhole, `the outage shows as a frozen stretch (${gap.longestMs} ms) or was repaired (${gap.frames} frames)`);
  },
);

// A publisher without RTX (werift, as the load harness uses) resends a NACKed packet on the media SSRC itself
// (RFC 4585): media must hold later packets back for it just the same, or the repair arrives after its
// successors were forwarded and is thrown away (the load harness saw "0 lost" and decoder errors).
test(`werift (NACK without RTX), 2 % loss + ${JITTER_MS} ms jitter: the file decodes without a single error`, { timeout: 120_000 }, async (t) => {
  // werift's ICE/DTLS did not always connect through the impaired relay (it gave up after 20 s in about half
  // the runs, with jitter alone too): the impairment starts once it is connected, before the recording
  const relay = await startUdpRelay({ seed: 7 });
  const publisher = new ReplayPublisher({
    media: replayMedia,
    startFrame: 0,
    whip: { url: `${stack.baseUrl}/whip` },
    route: async (target) => {
      relay.setTarget(target);
      return { host: relay.host, port: relay.port };
    },
  });
  // the replay publisher sends what is due when pumped (the load harness shares one timer among many)
  const pump = setInterval(() => publisher.pump(performance.now()), 5);
  try {
    await publisher.start();
    relay.setUpstream({ lossPercent: 2, jitterMs: JITTER_MS });
    const started = await client.start(publisher.sessionId ?? '');
    const live = await client.waitForStatus(started.id, ['recording', 'failed', 'done'], 30_000);
    assert.equal(live.status, 'recording', JSON.stringify(live));
    await new Promise((r) => setTimeout(r, RECORD_MS));
    const done = await client.stop(started.id);
    assert.equal(done.status, 'done', JSON.stringify(done));
    const file = await client.download(done, scratch);
    const stats = publisher.snapshot();
    t.diagnostic(`relay upstream ${JSON.stringify(relay.upstream)}; publisher ${JSON.stringify(stats)}`);
    assert.ok(stats.retransmitted > 0, 'media asked for retransmissions and got them');
    assert.equal(await decodeErrors(file), '', `${file}: a full decode prints no error`);
  } finally {
    clearInterval(pump);
    await publisher.stop();
    await relay.close();
  }
});
