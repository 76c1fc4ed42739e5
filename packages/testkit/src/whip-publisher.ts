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
    let answer = await res.text();
    const found = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ/im.exec(answer);
    const mediaCandidate = found ? { host: found[1] as string, port: Number(found[2]) } : undefined;
    const over = opts.candidateOverride;
    if (over) answer = answer.replace(/^(a=candidate:\S+ \d+ udp \d+ )\S+ \d+( typ [^\r\n]*)(?=\r?$)/gim, `$1${over.host} ${over.port}$2`);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip ??= [];
    (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip.push(pc);
    return { location, sessionId: location.split('/').pop() ?? '', mediaCandidate };
  }, options);
}
