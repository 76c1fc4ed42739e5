import type { Page } from 'playwright-core';

export interface WhipPublishOptions {
  /** preferred video codec, e.g. 'h264', 'vp8', 'vp9', 'av1' */
  videoCodec?: string;
  audio?: boolean;
  video?: boolean;
  width?: number;
  height?: number;
  /** Authorization bearer token, when the server requires one */
  token?: string;
  /**
   * Send to this address instead of media's candidate (a UdpRelay: `startUdpRelay()`, then
   * `relay.setTarget(session.mediaCandidate)`): the answer's UDP candidates are rewritten in the page
   * before it is applied
   */
  candidateOverride?: { host: string; port: number };
}

export interface WhipSession {
  sessionId: string;
  location: string;
  /** media's first UDP candidate in the answer (where a relay must forward to) */
  mediaCandidate?: { host: string; port: number } | undefined;
  /** media's answer as it came (its payload types: a relay can tell video, its RTX and audio apart by them) */
  answer?: string | undefined;
}

/** The page's publishing module as the tests call it (services/signaling/public/whip-publish.js). */
export interface PagePublisher {
  publishStream(
    pc: RTCPeerConnection,
    stream: MediaStream,
    options: { videoCodec?: string; post: (offer: string) => Promise<{ location: string; answer: string }>; editAnswer?: (answer: string) => string },
  ): Promise<{ location: string; answer: string }>;
  firstUdpCandidate(sdp: string): { host: string; port: number } | undefined;
  replaceUdpCandidates(sdp: string, to: { host: string; port: number }): string;
}

/** Where the page's publishing module is served, on the server's own origin. */
export const PAGE_PUBLISHER_URL = '/whip-publish.js';

/**
 * What a page publishes: Chromium's fake camera and microphone, or the A/V markers that `startMarkers`
 * keeps running in the page.
 */
export type PageStreamSource = { camera: { audio: boolean; video: boolean; width: number; height: number } } | 'markers';

/**
 * Publishes the fake camera and microphone from a Chromium page to a WHIP endpoint on the page's own
 * origin (the page must already be on that origin, e.g. `${baseUrl}/healthz`), with the page's own
 * publishing code (served by signaling). Returns once the answer is applied; media flows when ICE and
 * DTLS complete.
 */
export async function publishWhip(page: Page, options: WhipPublishOptions = {}): Promise<WhipSession> {
  const camera = { audio: options.audio ?? true, video: options.video ?? true, width: options.width ?? 1280, height: options.height ?? 720 };
  return publishPageStream(page, { camera }, options);
}

/** Publishes `source` from the page (on the server's origin) over WHIP with the page's own publishing code. */
export async function publishPageStream(
  page: Page,
  source: PageStreamSource,
  options: Pick<WhipPublishOptions, 'videoCodec' | 'token' | 'candidateOverride'>,
): Promise<WhipSession> {
  // tsx (esbuild, keepNames) wraps named functions in `__name(...)`, which the page does not have
  await page.evaluate('globalThis.__name ??= (f) => f');
  return page.evaluate(
    async ({ from, opts, moduleUrl }) => {
      const g = globalThis as unknown as { __markers?: { stream: MediaStream }; __whip?: RTCPeerConnection[] };
      let stream: MediaStream;
      if (from === 'markers') {
        if (!g.__markers) throw new Error('the markers are not running');
        stream = g.__markers.stream;
      } else {
        const { audio, video, width, height } = from.camera;
        stream = await navigator.mediaDevices.getUserMedia({ audio, video: video ? { width, height } : false });
      }
      const publisher = (await import(moduleUrl)) as PagePublisher;
      const pc = new RTCPeerConnection();
      let mediaCandidate: { host: string; port: number } | undefined;
      let mediaAnswer = '';
      const { location } = await publisher.publishStream(pc, stream, {
        ...(opts.videoCodec ? { videoCodec: opts.videoCodec } : {}),
        post: async (offer) => {
          const headers: Record<string, string> = { 'content-type': 'application/sdp' };
          if (opts.token) headers.authorization = `Bearer ${opts.token}`;
          const res = await fetch('/whip', { method: 'POST', headers, body: offer });
          if (res.status !== 201) throw new Error(`WHIP POST answered ${res.status}: ${await res.text()}`);
          return { location: res.headers.get('location') ?? '', answer: await res.text() };
        },
        // through the test kit's UDP relay: the page sends to the relay, which forwards to media's candidate
        editAnswer: (answer) => {
          mediaAnswer = answer;
          mediaCandidate = publisher.firstUdpCandidate(answer);
          return opts.candidateOverride ? publisher.replaceUdpCandidates(answer, opts.candidateOverride) : answer;
        },
      });
      g.__whip ??= [];
      g.__whip.push(pc);
      return { location, sessionId: location.split('/').pop() ?? '', mediaCandidate, answer: mediaAnswer };
    },
    {
      from: source,
      opts: { videoCodec: options.videoCodec, token: options.token, candidateOverride: options.candidateOverride },
      moduleUrl: PAGE_PUBLISHER_URL,
    },
  );
}
