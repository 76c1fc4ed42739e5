/**
 * Test support: a tiny page served on loopback (getUserMedia needs a secure context, which
 * http://127.0.0.1 is) that publishes Chromium's fake camera and microphone WHIP-style, with the
 * offer/answer exchanged by the test (over NATS, like signaling would).
 */
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import type { TestBrowser } from '@recstack/testkit';

const PAGE = `<!doctype html><meta charset="utf-8"><title>publisher</title><script>
let pc, stream;
window.makeOffer = async (o) => {
  stream = await navigator.mediaDevices.getUserMedia({ audio: o.audio, video: o.video ? { width: 640, height: 480 } : false });
  pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) {
    const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    if (track.kind === 'video' && o.videoCodec) {
      const caps = RTCRtpSender.getCapabilities('video').codecs;
      const wanted = caps.filter((c) => c.mimeType.toLowerCase() === 'video/' + o.videoCodec
        && (o.videoCodec !== 'h264' || (c.sdpFmtpLine || '').includes('packetization-mode=1'))
        && (o.videoCodec !== 'vp9' || (c.sdpFmtpLine || '').includes('profile-id=0')));
      if (wanted.length === 0) throw new Error('codec not available: ' + o.videoCodec);
      t.setCodecPreferences([...wanted, ...caps.filter((c) => !wanted.includes(c))]);
    }
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return pc.localDescription.sdp;
};
window.applyAnswer = (sdp) => pc.setRemoteDescription({ type: 'answer', sdp });
window.connectionState = () => (pc ? pc.connectionState : 'none');
window.hangUp = () => { pc && pc.close(); stream && stream.getTracks().forEach((t) => t.stop()); };
</script>`;

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface PublishOptions {
  audio?: boolean;
  video?: boolean;
  videoCodec?: 'h264' | 'vp8' | 'vp9' | 'av1';
}

type PageApi = {
  makeOffer(o: PublishOptions): Promise<string>;
  applyAnswer(sdp: string): Promise<void>;
  connectionState(): string;
  hangUp(): void;
};

export class Publisher {
  private constructor(
    readonly page: Page,
    readonly offer: string,
  ) {}

  static async open(browser: TestBrowser, pageUrl: string, options: PublishOptions = {}): Promise<Publisher> {
    const page = await browser.context.newPage();
    await page.goto(pageUrl);
    const opts = { audio: options.audio ?? true, video: options.video ?? true, ...(options.videoCodec ? { videoCodec: options.videoCodec } : {}) };
    const offer = await page.evaluate((o) => (globalThis as unknown as PageApi).makeOffer(o), opts);
    return new Publisher(page, offer);
  }

  async applyAnswer(sdp: string): Promise<void> {
    await this.page.evaluate((a) => (globalThis as unknown as PageApi).applyAnswer(a), sdp);
  }

  connectionState(): Promise<string> {
    return this.page.evaluate(() => (globalThis as unknown as PageApi).connectionState());
  }

  async waitConnected(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.connectionState();
      if (state === 'connected') return;
      if (state === 'failed' || state === 'closed') throw new Error(`publisher connection ${state}`);
      if (Date.now() > deadline) throw new Error(`publisher not connected within ${timeoutMs} ms (state ${state})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Closes the peer connection (a publisher hanging up). */
  async hangUp(): Promise<void> {
    await this.page.evaluate(() => (globalThis as unknown as PageApi).hangUp());
  }

  /** Closes the page (a publisher closing the tab). */
  async close(): Promise<void> {
    if (!this.page.isClosed()) await this.page.close();
  }
}
