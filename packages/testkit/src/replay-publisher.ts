import { RTCPeerConnection, RTCRtpCodecParameters, useNACK, usePLI, type RTCRtpSender } from 'werift';
import type { ReplayMedia } from './replay-media.js';
import { REPLAY_AUDIO_PT, REPLAY_VIDEO_PT } from './replay-media.js';
import { AudioSchedule, VideoSchedule } from './replay-schedule.js';
import { firstUdpCandidate, rewriteCandidates } from './udp-relay.js';

/**
 * A light WebRTC publisher: werift (ICE, DTLS-SRTP, NACKs answered from its send history) publishing over
 * WHIP the replay media made once by GStreamer, in a loop with continuous RTP timestamps and sequence
 * numbers. No encoder runs: the packets are the file's, so a publisher costs a few per cent of a core.
 */

export interface WhipTarget {
  /** the WHIP endpoint, e.g. http://127.0.0.1:8080/whip */
  url: string;
  token?: string;
}

export class WhipRefusedError extends Error {
  readonly code: string;
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`WHIP POST answered ${status} ${code}: ${message}`);
    this.code = code;
  }
}

export interface ReplayPublisherOptions {
  media: ReplayMedia;
  whip: WhipTarget;
  /** the video frame the loop starts at (a keyframe index into media.video) */
  startFrame: number;
  /** answer a PLI by jumping to the file's next keyframe, as an encoder would make one (default true) */
  honourPli?: boolean;
  /**
   * Called with media's candidate from the answer; returns where the publisher should send instead (a
   * relay), or undefined for direct.
   */
  route?: (target: { host: string; port: number }) => Promise<{ host: string; port: number } | undefined>;
  /** wait this long after connecting before the first packet (aligned publishers wait for a common instant) */
  startDelayMs?: number;
  /**
   * ms by which this publisher's keyframes come earlier than the file's (its first group of pictures is cut
   * short; see VideoScheduleOptions.phaseShiftMs): publishers started together then do not send their
   * keyframes at the same instants
   */
  phaseShiftMs?: number;
  /**
   * video pacing rate in kbit/s (default 2.5 × the file's bitrate, libwebrtc's pacing factor); 0 sends
   * each frame's packets at once
   */
  pacingKbps?: number;
  /** offer only a 127.0.0.1 candidate (default true; false when media is on another machine) */
  loopbackOnly?: boolean;
  /** seconds to wait for ICE + DTLS (default 20) */
  connectTimeoutSeconds?: number;
}

export interface PublisherStats {
  videoPackets: number;
  audioPackets: number;
  bytes: number;
  nacks: number;
  retransmitted: number;
  plis: number;
  keyframeJumps: number;
  /** video packets media reported lost (its receiver reports' cumulative count) */
  remoteLost: number;
}

/** A replay publisher; `start()` connects and begins sending, `stop()` ends the WHIP session. */
export class ReplayPublisher {
  readonly stats: PublisherStats = { videoPackets: 0, audioPackets: 0, bytes: 0, nacks: 0, retransmitted: 0, plis: 0, keyframeJumps: 0, remoteLost: 0 };
  location: string | undefined;
  sessionId: string | undefined;
  private pc: RTCPeerConnection | undefined;
  private video: { sender: RTCRtpSender; schedule: VideoSchedule } | undefined;
  private audio: { sender: RTCRtpSender; schedule: AudioSchedule } | undefined;
  private stopped = false;

  private readonly pacingKbps: number;

  constructor(private readonly options: ReplayPublisherOptions) {
    this.pacingKbps = options.pacingKbps ?? 2.5 * options.media.spec.kbps;
  }

  async start(): Promise<void> {
    const { media } = this.options;
    const videoCodec = codecParameters(media.spec.codec);
    const pc = new RTCPeerConnection({
      codecs: {
        video: [videoCodec],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: REPLAY_AUDIO_PT })],
      },
      // never a public STUN server: the publisher only reaches media's candidate (ICE-lite answers any host)
      iceServers: [],
      iceUseIpv6: false,
      iceAdditionalHostAddresses: this.options.loopbackOnly === false ? [] : ['127.0.0.1'],
      ...(this.options.loopbackOnly === false ? {} : { iceInterfaceAddresses: { udp4: '127.0.0.1' } }),
    });
    this.pc = pc;
    const videoTx = pc.addTransceiver('video', { direction: 'sendonly' });
    const audioTx = pc.addTransceiver('audio', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathered(pc);
    const headers: Record<string, string> = { 'content-type': 'application/sdp' };
    if (this.options.whip.token) headers.authorization = `Bearer ${this.options.whip.token}`;
    const res = await fetch(this.options.whip.url, { method: 'POST', headers, body: pc.localDescription?.sdp ?? '' });
    const body = await res.text();
    if (res.status !== 201) {
      const retryAfter = Number(res.headers.get('retry-after') ?? 'NaN');
      let code = `HTTP_${res.status}`;
      let message = body.slice(0, 200);
      try {
        const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? code;
        message = parsed.error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new WhipRefusedError(res.status, code, message, Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
    const location = res.headers.get('location') ?? '';
    this.location = new URL(location, this.options.whip.url).toString();
    this.sessionId = location.split('/').pop() ?? '';
    let answer = body;
    const target = firstUdpCandidate(answer);
    const via = target && this.options.route ? await this.options.route(target) : undefined;
    if (via) answer = rewriteCandidates(answer, via).sdp;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await waitConnected(pc, (this.options.connectTimeoutSeconds ?? 20) * 1000);
    videoTx.sender.onPictureLossIndication.subscribe(() => {
      this.stats.plis++;
      if (this.options.honourPli !== false) this.video?.schedule.requestKeyframe();
    });
    videoTx.sender.onGenericNack.subscribe(() => void this.stats.nacks++);
    const now = performance.now() + (this.options.startDelayMs ?? 0);
    const start = this.options.startFrame;
    // random first sequence numbers and timestamps, as a browser's
    this.video = {
      sender: videoTx.sender,
      schedule: new VideoSchedule(media, {
        startFrame: start,
        startAt: now,
        pacingKbps: this.pacingKbps,
        firstSeq: randomU16(),
        firstTs: randomU32(),
        phaseShiftMs: this.options.phaseShiftMs ?? 0,
      }),
    };
    this.audio = { sender: audioTx.sender, schedule: new AudioSchedule(media, start, now, randomU16(), randomU32()) };
  }

  /** Sends what is due at `now` (ms, performance.now); called by the worker's one shared timer. */
  pump(now: number): void {
    if (this.stopped || !this.video || !this.audio) return;
    const send = (sender: RTCRtpSender) => (packet: Buffer) => {
      this.stats.bytes += packet.length;
      sender.sendRtp(packet).catch(() => undefined);
    };
    this.video.schedule.due(now, send(this.video.sender));
    this.audio.schedule.due(now, send(this.audio.sender));
    this.stats.videoPackets = this.video.schedule.packets;
    this.stats.audioPackets = this.audio.schedule.packets;
    this.stats.keyframeJumps = this.video.schedule.jumps;
  }

  /** The counters so far (werift's retransmissions and media's loss reports included). */
  snapshot(): PublisherStats {
    const sender = this.video?.sender as unknown as { retransmittedPacketsSent?: number; remotePacketsLost?: number } | undefined;
    this.stats.retransmitted = sender?.retransmittedPacketsSent ?? 0;
    // the receiver report's cumulative loss is a signed 24-bit field (negative with duplicates)
    const lost = sender?.remotePacketsLost ?? 0;
    this.stats.remoteLost = lost >= 0x800000 ? lost - 0x1000000 : lost;
    return { ...this.stats };
  }

  /** Ends the WHIP session (DELETE) and closes the connection; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.snapshot();
    this.stopped = true;
    if (this.location) {
      const headers: Record<string, string> = this.options.whip.token ? { authorization: `Bearer ${this.options.whip.token}` } : {};
      await fetch(this.location, { method: 'DELETE', headers }).then(
        (r) => r.body?.cancel(),
        () => undefined,
      );
    }
    await this.pc?.close().catch(() => undefined);
  }
}

function codecParameters(codec: ReplayMedia['spec']['codec']): RTCRtpCodecParameters {
  const rtcpFeedback = [useNACK(), usePLI()];
  switch (codec) {
    case 'h264':
      return new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90_000,
        payloadType: REPLAY_VIDEO_PT,
        rtcpFeedback,
        parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
      });
    case 'vp8':
      return new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, payloadType: REPLAY_VIDEO_PT, rtcpFeedback });
    case 'vp9':
      return new RTCRtpCodecParameters({ mimeType: 'video/VP9', clockRate: 90_000, payloadType: REPLAY_VIDEO_PT, rtcpFeedback, parameters: 'profile-id=0' });
  }
}

async function waitGathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000);
    pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function waitConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.connectionState === 'connected') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ICE/DTLS did not connect within ${timeoutMs / 1000} s (state ${pc.connectionState})`)), timeoutMs);
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        clearTimeout(timer);
        resolve();
      } else if (state === 'failed' || state === 'closed') {
        clearTimeout(timer);
        reject(new Error(`the WebRTC connection ${state}`));
      }
    });
  });
}

const randomU32 = () => Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
const randomU16 = () => Math.floor(Math.random() * 0x1_0000);
