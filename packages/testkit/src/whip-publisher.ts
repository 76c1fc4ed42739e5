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
}

export interface WhipSession {
  sessionId: string;
  location: string;
}

/**
 * Publishes the fake camera and microphone from a Chromium page to a WHIP endpoint on the page's own
 * origin (the page must already be on that origin, e.g. `${baseUrl}/healthz`). Returns once the answer is
 * applied; media flows when ICE and DTLS complete.
 */
export async function publishWhip(page: Page, options: WhipPublishOptions = {}): Promise<WhipSession> {
  return page.evaluate(async (opts) => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: opts.audio ?? true,
      video: (opts.video ?? true) ? { width: opts.width ?? 1280, height: opts.height ?? 720 } : false,
    });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    const wanted = opts.videoCodec;
    if (wanted) {
      const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
      const preferred = codecs.filter((c) => c.mimeType.toLowerCase() === `video/${wanted}`);
      const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== `video/${wanted}`);
      for (const t of pc.getTransceivers()) if (t.sender.track?.kind === 'video') t.setCodecPreferences([...preferred, ...rest]);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 2000);
    });
    const headers: Record<string, string> = { 'content-type': 'application/sdp' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch('/whip', { method: 'POST', headers, body: pc.localDescription?.sdp ?? '' });
    if (res.status !== 201) throw new Error(`WHIP POST answered ${res.status}: ${await res.text()}`);
    const location = res.headers.get('location') ?? '';
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip ??= [];
    (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip.push(pc);
    return { location, sessionId: location.split('/').pop() ?? '' };
  }, options);
}
