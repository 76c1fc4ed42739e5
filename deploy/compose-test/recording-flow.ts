import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import type { Recording } from '@recstack/contracts';
import { publishWhip, type StackClient } from '@recstack/testkit';
import { assertPlayableRecording } from '../../e2e/recording-checks.js';

/** The checks a user would make on a downloaded recording, the same as the local end-to-end test's. */
export async function checkRecordingFile(recording: Recording, path: string, durationSec: number): Promise<void> {
  const video = recording.tracks.find((t) => t.kind === 'video')?.codec;
  const audio = recording.tracks.find((t) => t.kind === 'audio')?.codec;
  assert.ok(video, `${recording.id}: the catalog lists a video track`);
  assert.ok(audio, `${recording.id}: the catalog lists an audio track`);
  await assertPlayableRecording(path, { video, audio, durationSec, toleranceSec: 1.5 });
}

/** Installed in the page before its own script: records the WebRTC states it goes through. */
const WEBRTC_TIMELINE_SCRIPT = `
(() => {
  const Original = window.RTCPeerConnection;
  const timeline = [];
  window.__webrtcTimeline = timeline;
  const t0 = Date.now();
  function note(line) { timeline.push('+' + ((Date.now() - t0) / 1000).toFixed(2) + ' s ' + line); }
  function describeStats(stats) {
    stats.forEach(function (r) {
      if (r.type === 'transport') note('transport ice ' + r.iceState + ' dtls ' + r.dtlsState + ' selected ' + r.selectedCandidatePairId);
      if (r.type === 'candidate-pair') note('pair ' + r.id + ' ' + r.state + ' nominated ' + r.nominated + ' requests ' + r.requestsSent + ' responses ' + r.responsesReceived + ' requests in ' + r.requestsReceived + ' responses out ' + r.responsesSent);
      if (r.type === 'local-candidate' || r.type === 'remote-candidate') note(r.type + ' ' + r.id + ' ' + r.address + ':' + r.port + ' ' + r.candidateType);
    });
  }
  window.RTCPeerConnection = class extends Original {
    constructor(config) {
      super(config);
      note('pc created');
      this.addEventListener('iceconnectionstatechange', () => note('ice ' + this.iceConnectionState));
      this.addEventListener('connectionstatechange', () => note('connection ' + this.connectionState));
    }
    close() {
      if (this.connectionState === 'connected') return super.close();
      note('close while ' + this.connectionState);
      // the figures are gone once closed: read them first (closing a few milliseconds later is harmless)
      this.getStats().then(describeStats, () => undefined).finally(() => super.close());
    }
  };
})();
`;

/**
 * What a person does on the page: wait for the camera preview, press Record, wait, press Stop. Returns
 * the finished recording from the catalog.
 */
export async function recordFromPage(context: BrowserContext, client: StackClient, seconds: number, log: (line: string) => void): Promise<Recording> {
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && log(`[page] ${m.text()}`));
  // a timeline of the page's WebRTC states, and the ICE/DTLS figures of a connection as the page closes it,
  // to tell on failure which step did not happen (ICE checks, nomination, DTLS)
  // plain JavaScript: a function compiled by tsx would carry its helpers (__name) into the page and throw there
  await page.addInitScript({ content: WEBRTC_TIMELINE_SCRIPT });
  try {
    const before = new Set((await client.recordings()).map((r) => r.id));
    await page.goto(client.baseUrl);
    await page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('#preview');
        return v !== null && v.readyState >= 2 && v.videoWidth > 0;
      },
      undefined,
      { timeout: 30_000 },
    );
    log('page: camera preview is playing; pressing Record');
    await page.locator('#record').click();
    const started = await client.waitFor(
      "the page's recording to start",
      async () => (await client.recordings()).find((r) => !before.has(r.id) && r.status === 'recording'),
      30_000,
    );
    log(`page: ${started.id} is recording (recorder ${started.recorderId ?? '?'}); waiting ${seconds} s`);
    await page.waitForTimeout(seconds * 1000);
    await page.locator('#stop').click();
    const done = await client.waitForStatus(started.id, ['done', 'failed'], 60_000);
    assert.equal(done.status, 'done', `${done.id} failed: ${JSON.stringify(done.error)}`);
    await page.locator(`[data-recording-id="${done.id}"]`).waitFor({ timeout: 15_000 });
    return done;
  } catch (err) {
    // what the person would see: the page's text and WebRTC state
    const seen = await page
      .evaluate(() => ({
        text: document.body.innerText.replace(/\s+/g, ' ').slice(0, 300),
        ice: (window as unknown as { __webrtcTimeline?: string[] }).__webrtcTimeline ?? [],
      }))
      .catch(() => ({ text: '(page not readable)', ice: [] as string[] }));
    log(`page at failure: ${seen.text}`);
    for (const line of seen.ice) log(`page WebRTC ${line}`);
    throw err;
  } finally {
    await page.close().catch(() => undefined);
  }
}

/** A WHIP publisher in its own page (Chromium's fake camera and microphone), as OBS or a WHIP client would be. */
export async function openPublisher(context: BrowserContext, baseUrl: string, token?: string): Promise<{ page: Page; sessionId: string }> {
  const page = await context.newPage();
  // the page must be on the server's origin for its fetch('/whip')
  await page.goto(`${baseUrl}/healthz`);
  // 640x480 keeps three software H264 encoders within this 2-core machine's means next to the stack
  const session = await publishWhip(page, { videoCodec: 'h264', width: 640, height: 480, ...(token ? { token } : {}) });
  return { page, sessionId: session.sessionId };
}
