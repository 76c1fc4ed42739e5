import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { MediaKind } from '@recstack/contracts';
import { ServiceError, type Logger } from '@recstack/service-kit';
import { CodecInfo, MediaInfo } from 'semantic-sdp';
import { AtCapacityError, MediaEngineError } from '../errors.js';
import type { IncomingStreamTrack, Streamer, StreamerSession } from '../webrtc/medooze.js';

export interface ForwardedTrack {
  kind: MediaKind;
  /** Medooze codec name: h264, vp8, vp9, av1, opus */
  codec: string;
  /** the payload type the recorder expects; the Streamer rewrites outgoing packets to it */
  payloadType: number;
  incoming: IncomingStreamTrack;
  /** RTP port at the recorder; Medooze sends RTCP sender reports to port + 1 */
  port: number;
}

/** Medooze's native socket code needs a literal address; a recorder may announce a host name (containers). */
export async function resolveRecorderHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    const { address } = await lookup(host, { family: 4 });
    return address;
  } catch (cause) {
    throw new MediaEngineError(`cannot resolve the recorder host ${host}`, { cause });
  }
}

/**
 * Plain RTP (and RTCP on port + 1) from a publisher's incoming tracks to a recorder, one Medooze
 * StreamerSession per track on a Streamer of its own. Created only once the recorder listens, so no
 * packet is sent into the void.
 */
export class RtpForwarder {
  private closed = false;

  private constructor(
    private readonly streamer: Streamer,
    private readonly logger: Logger,
  ) {}

  /** `address` must be a literal IP (see resolveRecorderHost). Either every track is forwarded or none. */
  static open(createStreamer: () => Streamer, address: string, tracks: ForwardedTrack[], logger: Logger): RtpForwarder {
    const streamer = createStreamer();
    const healthy: StreamerSession[] = [];
    try {
      for (const track of tracks) {
        const media = new MediaInfo(track.kind, track.kind);
        media.addCodec(new CodecInfo(track.codec, track.payloadType));
        const session = streamer.createSession(media, { remote: { ip: address, port: track.port } });
        // Medooze does not throw when it finds no free local port in MEDIA_UDP_PORT_MIN..MAX: the session
        // is dead, and stopping it blocks forever, so it is dropped with its Streamer and never stopped
        if (!session.getLocalPort()) throw new AtCapacityError('no free local UDP port for another streamer session (MEDIA_UDP_PORT_MIN..MAX)');
        healthy.push(session);
        // attachTo also sends one PLI; the recording's keyframe requester keeps asking until the recorder has one
        session.getOutgoingStreamTrack().attachTo(track.incoming);
        logger.debug(
          { kind: track.kind, codec: track.codec, payloadType: track.payloadType, address, port: track.port, localPort: session.getLocalPort() },
          'rtp forwarding started',
        );
      }
    } catch (err) {
      for (const session of healthy) stopQuietly(session, logger);
      throw err instanceof ServiceError ? err : new MediaEngineError('cannot create the RTP streamer sessions', { cause: err });
    }
    return new RtpForwarder(streamer, logger);
  }

  /** Stops sending. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.streamer.stop();
    } catch (err) {
      this.logger.warn({ err }, 'streamer stop failed');
    }
  }
}

function stopQuietly(session: StreamerSession, logger: Logger): void {
  try {
    session.stop();
  } catch (err) {
    logger.warn({ err }, 'streamer session stop failed');
  }
}
