import type { MediaKind } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { StreamInfo, TrackInfo } from 'semantic-sdp';
import { chosenTracks, type CodecChoice } from './codec-choice.js';
import { MalformedOfferError, MediaEngineError } from '../errors.js';
import { medooze, type Endpoint, type IncomingStream, type MediaServer, type Streamer, type Transport } from './medooze.js';
import { PublisherConnection, type PublishedTrackHandle } from './publisher-connection.js';
import { buildAnswer, offersTransportCc } from './sdp-answer.js';
import type { ParsedOffer } from './sdp-offer.js';

export interface WebRtcEndpointOptions {
  publicIp: string;
  udpPorts: { min: number; max: number };
  /** Medooze endpoints to open: each its own UDP socket (a port drawn from udpPorts) and receive thread */
  count: number;
  nativeLog: boolean;
  /** a connected publisher silent (no ICE consent checks) for this long is gone */
  publisherIceTimeoutMs: number;
  /** a session whose publisher has not completed ICE and DTLS this long after its creation is closed */
  publisherConnectTimeoutMs: number;
  /** MAX_VIDEO_KBPS; 0: no cap */
  maxVideoKbps: number;
  /** MEDIA_NACK_WAIT_MS: the hold for a NACKed packet from a publisher without RTX */
  nackWaitMs: number;
}

/**
 * The endpoint a new publisher goes to: the one holding the fewest publishers, the first of equals (so a
 * quiet instance keeps using the same socket). Returns -1 for an empty list.
 */
export function pickEndpoint(sessionsPerEndpoint: readonly number[]): number {
  let best = -1;
  for (const [i, n] of sessionsPerEndpoint.entries()) {
    if (best === -1 || n < (sessionsPerEndpoint[best] ?? Infinity)) best = i;
  }
  return best;
}

interface OpenEndpoint {
  endpoint: Endpoint;
  port: number;
  sessions: number;
}

/**
 * The process's Medooze endpoints: UDP sockets (ICE-lite, DTLS-SRTP), each read by its own native thread,
 * that publishers connect to, spread least loaded first. One socket read by one thread overflows when many
 * publishers' keyframes arrive together; several share the load over the cores. Also hands out the
 * Streamers that forward plain RTP to recorders. Closing it stops every transport and terminates Medooze's
 * native threads, so it is the last media resource to close.
 */
export class WebRtcEndpoint {
  private closed = false;

  private constructor(
    private readonly server: MediaServer,
    private readonly endpoints: OpenEndpoint[],
    private readonly logger: Logger,
    private readonly publisherIceTimeoutMs: number,
    private readonly publisherConnectTimeoutMs: number,
    private readonly maxVideoKbps: number,
    private readonly nackWaitMs: number,
  ) {}

  static open(options: WebRtcEndpointOptions, logger: Logger): WebRtcEndpoint {
    const server = medooze();
    server.enableLog(options.nativeLog);
    server.enableWarning(options.nativeLog);
    server.enableDebug(false);
    if (!server.setPortRange(options.udpPorts.min, options.udpPorts.max)) {
      throw new MediaEngineError(`Medooze refused the UDP port range ${options.udpPorts.min}-${options.udpPorts.max}`);
    }
    const endpoints: OpenEndpoint[] = [];
    try {
      for (let i = 0; i < options.count; i++) {
        const endpoint = server.createEndpoint(options.publicIp);
        // shows in top -H / perf: which socket's thread is busy
        endpoint.setThreadName(`media-ep${i}`);
        endpoints.push({ endpoint, port: endpoint.getLocalPort(), sessions: 0 });
      }
    } catch (err) {
      for (const e of endpoints) e.endpoint.stop();
      server.terminate();
      throw new MediaEngineError(`Medooze could not open endpoint ${endpoints.length + 1} of ${options.count}`, { cause: err });
    }
    const log = logger.child({ component: 'webrtc-endpoint' });
    log.info({ publicIp: options.publicIp, ports: endpoints.map((e) => e.port), udpPorts: options.udpPorts }, 'webrtc endpoints open');
    return new WebRtcEndpoint(
      server,
      endpoints,
      log,
      options.publisherIceTimeoutMs,
      options.publisherConnectTimeoutMs,
      options.maxVideoKbps,
      options.nackWaitMs,
    );
  }

  /** The UDP port of each endpoint, in order. */
  get localPorts(): number[] {
    return this.endpoints.map((e) => e.port);
  }

  /** Publishers currently held by each endpoint, in the order of localPorts. */
  get sessionsPerEndpoint(): number[] {
    return this.endpoints.map((e) => e.sessions);
  }

  /**
   * Creates the transport for a publisher, answers its offer with the chosen codecs and creates the
   * incoming tracks. Nothing is left behind if any step fails.
   */
  connect(sessionId: string, offer: ParsedOffer, choice: CodecChoice, logger: Logger): PublisherConnection {
    if (this.closed) throw new MediaEngineError('the WebRTC endpoint is closed');
    const open = this.endpoints[pickEndpoint(this.sessionsPerEndpoint)];
    if (!open) throw new MediaEngineError('no WebRTC endpoint is open');
    const { endpoint } = open;
    let transport: Transport | undefined;
    try {
      // the cap is enforced by the congestion feedback too: every REMB says at most this much, which bounds a
      // transport-cc sender's own estimate from above, so its encoder settles under it (see offersTransportCc)
      const capped = this.maxVideoKbps > 0 && offersTransportCc(offer.sdp);
      transport = endpoint.createTransport({ ice: offer.ice, dtls: offer.dtls }, undefined, capped ? { overrideBWE: true } : undefined);
      if (capped) transport.setRemoteOverrideBitrate(this.maxVideoKbps * 1000);
      open.sessions += 1;
      // however the transport ends (closed by us, or stopped under us), the endpoint has room again
      transport.once('stopped', () => {
        open.sessions = Math.max(0, open.sessions - 1);
      });
      try {
        transport.setRemoteProperties(offer.sdp);
      } catch (cause) {
        throw new MalformedOfferError('its RTP parameters are not accepted', { cause });
      }
      const answer = buildAnswer(
        offer,
        choice,
        {
          ice: transport.getLocalICEInfo(),
          dtls: transport.getLocalDTLSInfo(),
          candidates: endpoint.getLocalCandidates(),
        },
        { maxVideoKbps: this.maxVideoKbps },
      );
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
      logger.debug({ port: open.port }, 'publisher placed on endpoint');
      return new PublisherConnection(
        transport,
        stream,
        tracks,
        answer.toString(),
        logger,
        this.publisherIceTimeoutMs,
        this.publisherConnectTimeoutMs,
        this.nackWaitMs,
      );
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
      for (const e of this.endpoints) {
        try {
          e.endpoint.stop();
        } catch (err) {
          this.logger.warn({ err, port: e.port }, 'endpoint stop failed');
        }
      }
    } finally {
      this.server.terminate();
      this.logger.info('webrtc endpoint closed');
    }
  }
}
