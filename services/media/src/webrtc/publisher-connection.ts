import { EventEmitter } from 'node:events';
import type { MediaKind } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import type { ChosenTrack } from './codec-choice.js';
import { videoHoldMs, type HoldSample } from '../recording/gap-keyframes.js';
import type { DtlsState, IncomingStream, IncomingStreamTrack, Transport } from './medooze.js';

/** How long audio packets behind a missing one wait for it: audio has no RTX, but jitter reorders packets. */
const AUDIO_REORDER_WAIT_MS = 100;

/** Why Medooze says the publisher is gone. */
export type PublisherGoneCause = 'dtls-closed' | 'dtls-failed' | 'ice-timeout' | 'connect-timeout' | 'transport-stopped';

export interface PublishedTrackHandle {
  chosen: ChosenTrack;
  track: IncomingStreamTrack;
}

/** Receive figures of one track, summed over its encodings (media + RTX). */
export interface TrackReceiveStats {
  kind: MediaKind;
  codec: string;
  packetsReceived: number;
  packetsLost: number;
  /** packets that arrived as retransmissions (RTX) */
  packetsRetransmitted: number;
  nacksSent: number;
  plisSent: number;
  bitrateBps: number;
  rttMs: number;
  width: number | undefined;
  height: number | undefined;
}

export interface PublisherConnectionEvents {
  connected: [];
  gone: [PublisherGoneCause];
}

/**
 * The WebRTC side of one publisher session: its Medooze transport and incoming tracks. Turns the
 * transport's events into one `gone` event (DTLS closed or failed, ICE timeout, transport stopped
 * under us), emitted at most once and never after close().
 */
export class PublisherConnection extends EventEmitter<PublisherConnectionEvents> {
  private closed = false;
  private goneEmitted = false;
  private dtlsConnected = false;
  private livenessTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private iceRequests = 0;
  private iceSeenAt = 0;

  constructor(
    private readonly transport: Transport,
    private readonly stream: IncomingStream,
    readonly tracks: ReadonlyMap<MediaKind, PublishedTrackHandle>,
    readonly answer: string,
    private readonly logger: Logger,
    private readonly iceTimeoutMs: number,
    connectTimeoutMs: number,
    private readonly nackWaitMs: number,
  ) {
    super();
    // an offer whose publisher never completes ICE and DTLS would hold its ports and a session place until
    // Medooze's own 30 s ICE timeout, and one client could pile such sessions up
    this.connectTimer = setTimeout(() => this.guard(() => this.onConnectTimeout(connectTimeoutMs)), connectTimeoutMs);
    this.connectTimer.unref();
    // Medooze rethrows listener errors asynchronously, so these listeners guard themselves
    transport.on('dtlsstate', (state: DtlsState) => this.guard(() => this.onDtlsState(state)));
    transport.on('icetimeout', () => this.guard(() => this.markGone('ice-timeout')));
    transport.on('remoteicecandidate', (candidate) =>
      this.guard(() => this.logger.info({ address: candidate.getAddress(), port: candidate.getPort() }, 'publisher ICE address selected')),
    );
    transport.once('stopped', () => this.guard(() => this.markGone('transport-stopped')));
  }

  track(kind: MediaKind): PublishedTrackHandle | undefined {
    return this.tracks.get(kind);
  }

  /** Sends a PLI on the video track; false when there is none or the connection is closed. */
  requestKeyframe(): boolean {
    const video = this.tracks.get('video');
    if (!video || this.closed) return false;
    video.track.refresh();
    return true;
  }

  /**
   * The video track's hold and the longest a forwarded packet waited in Medooze's last second (see
   * gap-keyframes.ts); undefined without video or once closed.
   */
  videoHold(): HoldSample | undefined {
    const video = this.tracks.get('video');
    if (!video || this.closed) return undefined;
    let maxWaitedMs = 0;
    let rttMs = 0;
    for (const { source } of video.track.getEncodings()) {
      maxWaitedMs = Math.max(maxWaitedMs, source.maxWaitedTime);
      rttMs = Math.max(rttMs, source.rtt);
    }
    const hasRtx = video.chosen.rtxPayloadType !== undefined;
    return { maxWaitedMs, holdMs: videoHoldMs(hasRtx, rttMs, hasRtx ? 0 : this.nackWaitMs) };
  }

  async stats(): Promise<TrackReceiveStats[]> {
    if (this.closed) return [];
    const out: TrackReceiveStats[] = [];
    for (const [kind, { chosen, track }] of this.tracks) {
      const byEncoding = await track.getStatsAsync();
      if (this.closed) return [];
      const sum: TrackReceiveStats = {
        kind,
        codec: chosen.codec,
        packetsReceived: 0,
        packetsLost: 0,
        packetsRetransmitted: 0,
        nacksSent: 0,
        plisSent: 0,
        bitrateBps: 0,
        rttMs: 0,
        width: undefined,
        height: undefined,
      };
      for (const encoding of Object.values(byEncoding)) {
        sum.packetsReceived += encoding.numPackets ?? 0;
        sum.packetsLost += encoding.lostPackets ?? 0;
        sum.packetsRetransmitted += encoding.rtx?.numPackets ?? 0;
        sum.nacksSent += encoding.media?.totalNACKs ?? 0;
        sum.plisSent += encoding.media?.totalPLIs ?? 0;
        sum.bitrateBps += encoding.bitrate ?? 0;
        sum.rttMs = Math.max(sum.rttMs, encoding.rtt ?? 0);
        sum.width = encoding.width ?? sum.width;
        sum.height = encoding.height ?? sum.height;
      }
      out.push(sum);
    }
    return out;
  }

  /** Stops the transport and its tracks. Idempotent; no `gone` event follows. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    this.stopLivenessWatch();
    // the one line an operator needs for "my publisher never connected": did its checks arrive, did DTLS start
    if (!this.dtlsConnected) this.logger.warn({ ice: this.transport.getStats().ice ?? null, dtls: this.transport.getDTLSState() }, 'publisher never connected');
    try {
      this.stream.stop();
      this.transport.stop();
    } catch (err) {
      this.logger.error({ err }, 'transport stop failed');
    }
  }

  private onDtlsState(state: DtlsState): void {
    this.logger.info({ state }, 'dtls state');
    if (state === 'connected' && !this.dtlsConnected) {
      this.dtlsConnected = true;
      clearTimeout(this.connectTimer);
      this.holdForRetransmissions();
      this.startLivenessWatch();
      this.emit('connected');
    } else if (state === 'closed') {
      this.markGone('dtls-closed');
    } else if (state === 'failed') {
      this.markGone('dtls-failed');
    }
  }

  /**
   * Medooze forwards packets in sequence order and waits for a missing one only when RTX is negotiated; a
   * publisher without RTX (werift, some SFUs) resends a NACKed packet on the media SSRC, and with no wait its
   * successors were already forwarded, so the repair was thrown away and the recorder got a hole. Set once
   * connected: Medooze resets the wait to 0 when it adds the track's sources, asynchronously, after creation.
   */
  private holdForRetransmissions(): void {
    const video = this.tracks.get('video');
    if (video && video.chosen.rtxPayloadType === undefined && this.nackWaitMs > 0) {
      video.track.setMaxWaitTime(this.nackWaitMs);
      this.logger.debug({ waitMs: this.nackWaitMs }, 'video without RTX: holding packets for NACKed ones');
    }
    // audio has no RTX either: without a wait, Medooze drops a packet that jitter put behind its successor as
    // out of order (with 30 ms of jitter on 20 ms packets that happens; one A/V test saw a beep's onset lost
    // and found 90 ms late). The wait only delays packets behind a missing one; their RTP timestamps, and
    // so A/V sync, are kept.
    const audio = this.tracks.get('audio');
    if (audio && this.nackWaitMs > 0) audio.track.setMaxWaitTime(Math.min(this.nackWaitMs, AUDIO_REORDER_WAIT_MS));
  }

  private onConnectTimeout(afterMs: number): void {
    if (this.closed || this.dtlsConnected) return;
    this.logger.info({ afterMs, dtls: this.transport.getDTLSState() }, 'publisher did not connect in time');
    this.markGone('connect-timeout');
  }

  private markGone(cause: PublisherGoneCause): void {
    if (this.closed || this.goneEmitted) return;
    this.goneEmitted = true;
    clearTimeout(this.connectTimer);
    this.stopLivenessWatch();
    this.emit('gone', cause);
  }

  /**
   * A publisher that vanishes without closing DTLS (tab closed, crash, network gone) stops sending
   * ICE consent checks (RFC 7675, every few seconds). Medooze's own ICE timeout is a fixed 30 s; this
   * watches the STUN request counter and declares the publisher gone after `iceTimeoutMs` of silence.
   */
  private startLivenessWatch(): void {
    this.iceSeenAt = Date.now();
    this.iceRequests = this.transport.getStats().ice?.requestsReceived ?? 0;
    this.livenessTimer = setInterval(() => this.guard(() => this.checkLiveness()), Math.min(1000, this.iceTimeoutMs / 2));
    this.livenessTimer.unref();
  }

  private checkLiveness(): void {
    if (this.closed) return;
    const requests = this.transport.getStats().ice?.requestsReceived ?? 0;
    const now = Date.now();
    if (requests !== this.iceRequests) {
      this.iceRequests = requests;
      this.iceSeenAt = now;
    } else if (now - this.iceSeenAt > this.iceTimeoutMs) {
      this.logger.info({ silentMs: now - this.iceSeenAt, iceRequests: requests }, 'no ICE consent checks from the publisher');
      this.markGone('ice-timeout');
    }
  }

  private stopLivenessWatch(): void {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.livenessTimer = undefined;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err }, 'transport event handler failed');
    }
  }
}
