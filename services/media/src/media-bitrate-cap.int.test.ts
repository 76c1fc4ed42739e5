// MAX_VIDEO_KBPS against real Chromium and real Medooze: the answer announces the cap, and the video the
// publisher sends stays under it, while an uncapped publisher of the same camera goes well above it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateSessionReplySchema, subjects } from '@recstack/contracts';
import { launchChromium, type TestBrowser } from '@recstack/testkit';
import { metricValue, rawRequest, startMediaHarness, waitUntil, type MediaHarness } from './testing/media-harness.js';
import { Publisher, startPageServer, type PageServer } from './testing/publisher-page.js';

const CAP_KBPS = 250;
let browser: TestBrowser;
let pages: PageServer;
const harnesses: MediaHarness[] = [];

before(async () => {
  [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
});

after(async () => {
  await browser?.close();
  await pages?.close();
  await Promise.all(harnesses.map((h) => h.stop()));
});

/** What a sender that ignores the SDP's bandwidth lines sees: only the congestion feedback can hold it. */
const withoutAnnouncedCap = (sdp: string) =>
  sdp
    .split('\r\n')
    .filter((l) => !/^b=(AS|TIAS):/.test(l))
    .map((l) => l.replace(/;?x-google-(max|start)-bitrate=\d+/g, '').replace(/^(a=fmtp:\d+) ?$/, '$1 '))
    .filter((l) => !/^a=fmtp:\d+ $/.test(l))
    .join('\r\n');

/**
 * Publishes VP8 to a media instance with the given cap and samples the video bitrate media receives (bit/s),
 * twice a second after a 2 s ramp-up.
 */
async function publishAndSample(
  maxVideoKbps: number,
  seconds: number,
  editAnswer: (sdp: string) => string = (sdp) => sdp,
): Promise<{ answer: string; applied: string; samples: number[] }> {
  const h = await startMediaHarness({ MAX_VIDEO_KBPS: String(maxVideoKbps) });
  harnesses.push(h);
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
  try {
    const sessionId = `ses_cap${maxVideoKbps}x${process.pid}`;
    const reply = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: publisher.offer });
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    const { answer } = CreateSessionReplySchema.parse(reply.result);
    const applied = editAnswer(answer);
    await publisher.applyAnswer(applied);
    await publisher.waitConnected();
    const bitrate = () => metricValue(h.opsUrl, 'media_track_bitrate_bps', { session_id: sessionId, kind: 'video' });
    await waitUntil('video arriving', async () => ((await bitrate()) ?? 0) > 0);
    await new Promise((r) => setTimeout(r, 2000));
    const samples: number[] = [];
    for (let i = 0; i < seconds * 2; i++) {
      await new Promise((r) => setTimeout(r, 500));
      samples.push((await bitrate()) ?? 0);
    }
    return { answer, applied, samples };
  } finally {
    await publisher.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

test(
  `MAX_VIDEO_KBPS=${CAP_KBPS}: announced in the answer; Chromium's video stays under it, through the SDP and through REMB alone; uncapped it goes above`,
  { timeout: 240_000 },
  async () => {
    const capped = await publishAndSample(CAP_KBPS, 10);
    const video = capped.answer.split(/\r?\nm=/).find((m) => m.startsWith('video')) ?? '';
    assert.match(video, new RegExp(`^b=AS:${CAP_KBPS}\r?$`, 'm'));
    assert.match(video, new RegExp(`^b=TIAS:${CAP_KBPS * 1000}\r?$`, 'm'));
    assert.match(video, new RegExp(`x-google-max-bitrate=${CAP_KBPS}`));

    const rembOnly = await publishAndSample(CAP_KBPS, 10, withoutAnnouncedCap);
    assert.doesNotMatch(rembOnly.applied, /^b=|x-google-(max|start)-bitrate/m, 'the publisher was not told in the SDP');
    const uncapped = await publishAndSample(0, 10);
    const kbps = (xs: number[]) => xs.map((x) => Math.round(x / 1000)).join(' ');
    const seen = `capped: ${kbps(capped.samples)}; REMB only: ${kbps(rembOnly.samples)}; uncapped: ${kbps(uncapped.samples)} (kbit/s)`;
    // a 1 s measurement window on the receiving side: a little above the cap is jitter, not the encoder
    assert.ok(Math.max(...capped.samples) <= CAP_KBPS * 1000 * 1.15, seen);
    assert.ok(Math.max(...rembOnly.samples) <= CAP_KBPS * 1000 * 1.15, seen);
    assert.ok(median(uncapped.samples) > CAP_KBPS * 1000 * 1.3, `without a cap the same camera sends more, or this test proves nothing: ${seen}`);
  },
);
