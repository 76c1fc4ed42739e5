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
}

/** Where the page's publishing module is served, on the server's own origin. */
export const PAGE_PUBLISHER_URL = '/whip-publish.js';

/**
 * Publishes the fake camera and microphone from a Chromium page to a WHIP endpoint on the page's own
 * origin (the page must already be on that origin, e.g. `${baseUrl}/healthz`), with the page's own
 * publishing code (served by signaling). Returns once the answer is applied; media flows when ICE and
 * DTLS complete.
 */
export async function publishWhip(page: Page, options: WhipPublishOptions = {}): Promise<WhipSession> {
  // tsx (esbuild, keepNames) wraps named functions in `__name(...)`, which the page does not have
  await page.evaluate('globalThis.__name ??= (f) => f');
  return page.evaluate(
    async ({ opts, moduleUrl }) => {
      const publisher = (await import(moduleUrl)) as PagePublisher;
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: opts.audio ?? true,
        video: (opts.video ?? true) ? { width: opts.width ?? 1280, height: opts.height ?? 720 } : false,
      });
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
        editAnswer: (answer) => {
          mediaAnswer = answer;
          const found = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ/im.exec(answer);
          mediaCandidate = found ? { host: found[1] as string, port: Number(found[2]) } : undefined;
          const over = opts.candidateOverride;
          return over ? answer.replace(/^(a=candidate:\S+ \d+ udp \d+ )\S+ \d+( typ [^\r\n]*)(?=\r?$)/gim, `$1${over.host} ${over.port}$2`) : answer;
        },
      });
      (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip ??= [];
      (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip.push(pc);
      return { location, sessionId: location.split('/').pop() ?? '', mediaCandidate, answer: mediaAnswer };
    },
    { opts: options, moduleUrl: PAGE_PUBLISHER_URL },
  );
}
