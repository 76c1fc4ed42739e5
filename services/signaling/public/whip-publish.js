// @ts-check
// Publishing a stream over WHIP (RFC 9725) with a preferred video codec. The page publishes with it, and so
// do the tests (packages/testkit imports this file from the server in their Chromium pages), so what is
// tested is what the page sends.

/**
 * @typedef {object} PublishOptions
 * @property {string} [videoCodec] the codec to put first ('h264', 'vp8', 'vp9', 'av1'); the others stay as fallbacks
 * @property {string} [codecLabel] the codec's name in the error when the browser cannot send it
 * @property {boolean} [maintainResolution] send the capture resolution from the first frame (the page); otherwise
 *   the browser's default, which starts small and scales up with its bandwidth estimate
 * @property {number} [gatherTimeoutMs] how long to wait for ICE candidates before sending the offer anyway
 * @property {(offer: string) => Promise<{ location: string, answer: string }>} post sends the offer, returns the
 *   session's resource (Location) and the answer
 * @property {(answer: string) => string} [editAnswer] changes the answer before it is applied (tests: a relay)
 */

/**
 * Adds the stream's tracks to the connection (send only, the chosen codec first), sends the offer with the
 * gathered candidates and applies the answer. Media flows once ICE and DTLS complete: see `connected`.
 * @param {RTCPeerConnection} pc
 * @param {MediaStream} stream
 * @param {PublishOptions} options
 * @returns {Promise<{ location: string, answer: string }>}
 */
export async function publishStream(pc, stream, options) {
  for (const track of stream.getTracks()) {
    /** @type {RTCRtpTransceiverInit} */
    const init = { direction: 'sendonly', streams: [stream] };
    if (track.kind === 'video' && options.maintainResolution) {
      // a recording should look like the camera: by default Chromium starts small and scales up with its
      // bandwidth estimate and QP, so short recordings are all ramp. 'detail' (and maintain-resolution
      // below) make it keep the capture resolution and give up frame rate or quality instead.
      track.contentHint = 'detail';
      init.sendEncodings = [{ scaleResolutionDownBy: 1 }];
    }
    const transceiver = pc.addTransceiver(track, init);
    if (track.kind === 'video') {
      if (options.videoCodec) preferCodec(transceiver, options.videoCodec, options.codecLabel);
      if (options.maintainResolution) await keepResolution(transceiver.sender);
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringDone(pc, options.gatherTimeoutMs ?? 2000);
  const { location, answer } = await options.post(pc.localDescription?.sdp ?? '');
  const applied = options.editAnswer ? options.editAnswer(answer) : answer;
  await pc.setRemoteDescription({ type: 'answer', sdp: applied });
  return { location, answer };
}

/**
 * Puts the chosen codec first (for H264 the packetization-mode=1 variants, constrained baseline first),
 * keeping the rest as fallbacks. Throws when the browser cannot send it.
 * @param {RTCRtpTransceiver} transceiver
 * @param {string} codec
 * @param {string} [label]
 */
export function preferCodec(transceiver, codec, label = codec) {
  if (!RTCRtpSender.getCapabilities || !transceiver.setCodecPreferences) return;
  const all = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const mime = `video/${codec}`.toLowerCase();
  const chosen = all.filter((c) => c.mimeType.toLowerCase() === mime);
  if (chosen.length === 0) throw new Error(`This browser cannot send ${label} video. Choose another codec.`);
  /** @param {RTCRtpCodec} c */
  const score = (c) => (/packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 1) + (/profile-level-id=42e01f/.test(c.sdpFmtpLine ?? '') ? 0 : 0.5);
  chosen.sort((a, b) => score(a) - score(b));
  const rest = all.filter((c) => !chosen.includes(c));
  transceiver.setCodecPreferences([...chosen, ...rest]);
}

/**
 * Asks the encoder to keep the full capture resolution; browsers without the setting keep their default.
 * @param {RTCRtpSender} sender
 */
async function keepResolution(sender) {
  try {
    const params = /** @type {RTCRtpSendParameters & { degradationPreference?: string }} */ (sender.getParameters());
    params.degradationPreference = 'maintain-resolution';
    for (const encoding of params.encodings ?? []) encoding.scaleResolutionDownBy = 1;
    await sender.setParameters(params);
  } catch {
    // not supported (or not before negotiation): contentHint 'detail' asks for the same
  }
}

/**
 * @param {RTCPeerConnection} pc
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
function iceGatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(timer);
      resolve();
    };
    // the server does not take trickled candidates: send what we have after a while in any case
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, timeoutMs);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

/**
 * The address of the first UDP candidate in an SDP (tests: where a relay forwards to).
 * @param {string} sdp
 * @returns {{ host: string, port: number } | undefined}
 */
export function firstUdpCandidate(sdp) {
  const found = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ/im.exec(sdp);
  return found?.[1] ? { host: found[1], port: Number(found[2]) } : undefined;
}

/**
 * The SDP with every UDP candidate's address replaced (tests: the browser sends to a relay instead).
 * @param {string} sdp
 * @param {{ host: string, port: number }} to
 * @returns {string}
 */
export function replaceUdpCandidates(sdp, to) {
  return sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ )\S+ \d+( typ [^\r\n]*)(?=\r?$)/gim, `$1${to.host} ${to.port}$2`);
}

/**
 * Resolves when the connection is up; rejects when it fails or does not come up in time.
 * @param {RTCPeerConnection} pc
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
export function connected(pc, timeoutMs) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pc.connectionState === 'connected') finish(resolve);
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed')
        finish(() => reject(new Error('The media connection to the server failed. A firewall may block UDP.')));
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error('The media connection to the server could not be established in time. A firewall may block UDP.'))),
      timeoutMs,
    );
    /** @param {() => void} then */
    const finish = (then) => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
      then();
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}
