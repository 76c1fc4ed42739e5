import type { MediaKind } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { StreamInfo, TrackInfo } from 'semantic-sdp';
import { chosenTracks, type CodecChoice } from './codec-choice.js';
import { MalformedOfferError, MediaEngineError } from './errors.js';
import { medooze, type Endpoint, type IncomingStream, type MediaServer, type Streamer, type Transport } from './medooze.js';
import { PublisherConnection, type PublishedTrackHandle } from './publisher-connection.js';
import { buildAnswer, offersTransportCc } from './sdp-answer.js';
import type { ParsedOffer } from './sdp-offer.js';

export interface WebRtcEndpointOptions {
  publicIp: string;
  udpPorts: { min: number; max: number };
  nativeLog: boolean;
  /** a connected publisher silent (no ICE consent checks) for this long is gone */
  publisherIceTimeoutMs: number;
  /** MAX_VIDEO_KBPS; 0: no cap */
  maxVideoKbps: number;
}

/**
 * The process's single Medooze endpoint: one UDP socket (ICE-lite, DTLS-SRTP) that every publisher
 * connects to; it also hands out the Streamers that forward plain RTP to recorders. Closing it stops
 * every transport and terminates Medooze's native threads, so it is the last media resource to close.
 */
export class WebRtcEndpoint {
  private closed = false;

  private constructor(
    private readonly server: MediaServer,
    private readonly endpoint: Endpoint,
    private readonly logger: Logger,
    private readonly publisherIceTimeoutMs: number,
    private readonly maxVideoKbps: number,
  ) {}

  static open(options: WebRtcEndpointOptions, logger: Logger): WebRtcEndpoint {
    const server = medooze();
    server.enableLog(options.nativeLog);
    server.enableWarning(options.nativeLog);
    server.enableDebug(false);
    if (!server.setPortRange(options.udpPorts.min, options.udpPorts.max)) {
      throw new MediaEngineError(`Medooze refused the UDP port range ${options.udpPorts.min}-${options.udpPorts.max}`);
    }
    const endpoint = server.createEndpoint(options.publicIp);
    const log = logger.child({ component: 'webrtc-endpoint' });
    log.info({ publicIp: options.publicIp, port: endpoint.getLocalPort(), udpPorts: options.udpPorts }, 'webrtc endpoint open');
    return new WebRtcEndpoint(server, endpoint, log, options.publisherIceTimeoutMs, options.maxVideoKbps);
  }

  get localPort(): number {
    return this.endpoint.getLocalPort();
  }

  /**
   * Creates the transport for a publisher, answers its offer with the chosen codecs and creates the
   * incoming tracks. Nothing is left behind if any step fails.
   */
  connect(sessionId: string, offer: ParsedOffer, choice: CodecChoice, logger: Logger): PublisherConnection {
    if (this.closed) throw new MediaEngineError('the WebRTC endpoint is closed');
    let transport: Transport | undefined;
    try {
      // the cap is enforced by the congestion feedback too: every REMB says at most this much, which bounds a
      // transport-cc sender's own estimate from above, so its encoder settles under it (see offersTransportCc)
      const capped = this.maxVideoKbps > 0 && offersTransportCc(offer.sdp);
      transport = this.endpoint.createTransport({ ice: offer.ice, dtls: offer.dtls }, undefined, capped ? { overrideBWE: true } : undefined);
      if (capped) transport.setRemoteOverrideBitrate(this.maxVideoKbps * 1000);
      try {
        transport.setRemoteProperties(offer.sdp);
      } catch (cause) {
        throw new MalformedOfferError('its RTP parameters are not accepted', { cause });
      }
      const answer = buildAnswer(offer, choice, {
        ice: transport.getLocalICEInfo(),
        dtls: transport.getLocalDTLSInfo(),
        candidates: this.endpoint.getLocalCandidates(),
      }, { maxVideoKbps: this.maxVideoKbps });
      transport.setLocalProperties(answer);

      const streamInfo = new StreamInfo(sessionId);
      for (const chosen of chosenTracks(choice)) {
        const signalled = offer.sdp.getTrackByMediaId(chosen.mid) as TrackInfo | undefined;
        let info: TrackInfo;
        if (signalled) {
          info = signalled.clone();
        } else {
          // a publisher without a=msid / a=ssrc: Medooze matches its packets to the track by mid
          info = new TrackInfo(chosen.kind, `${chosen.kind}-${chosen.mid}`);
          info.setMediaId(chosen.mid);
        }
        streamInfo.addTrack(info);
      }
      let stream: IncomingStream;
      try {
        stream = transport.createIncomingStream(streamInfo);
      } catch (cause) {
        throw new MalformedOfferError('its a=ssrc / a=msid lines cannot be used', { cause });
      }
      const tracks = new Map<MediaKind, PublishedTrackHandle>();
      for (const chosen of chosenTracks(choice)) {
        const track = stream.getTracks().find((t) => t.getMediaId() === chosen.mid);
        if (!track) throw new MediaEngineError(`no incoming ${chosen.kind} track for mid ${chosen.mid}`);
        tracks.set(chosen.kind, { chosen, track });
      }
      return new PublisherConnection(transport, stream, tracks, answer.toString(), logger, this.publisherIceTimeoutMs);
    } catch (err) {
      try {
        transport?.stop();
      } catch (stopErr) {
        this.logger.warn({ err: stopErr }, 'transport stop after a failed connect failed');
      }
      throw err;
    }
  }

  /** A Streamer for plain RTP towards a recorder; its owner stops it. */
  createStreamer(): Streamer {
    if (this.closed) throw new MediaEngineError('the WebRTC endpoint is closed');
    return this.server.createStreamer();
  }

  /** Stops the endpoint (and every transport) and terminates Medooze. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.endpoint.stop();
    } finally {
      this.server.terminate();
      this.logger.info('webrtc endpoint closed');
    }
  }
}
