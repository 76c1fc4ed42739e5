import { createSocket, type Socket } from 'node:dgram';
import type { Writable } from 'node:stream';
import type { Logger } from '@recstack/service-kit';
import { PortInUseError } from '../errors.js';
import { Av1Depacketizer } from './av1-depacketizer.js';
import { av1StreamSize } from './av1-sequence-header.js';
import { parseRtpPacket } from './rtp-packet.js';
import { AV1_CAPS, XGstPacketizer, frameRfc4571 } from './xgst-packetizer.js';

/** Past this much unread data in the pipe the child is not keeping up: drop until the next keyframe. */
const MAX_PIPE_BACKLOG = 8 * 1024 * 1024;

export interface Av1IngestOptions {
  address: string;
  port: number;
  payloadType: number;
  /** called every `idleProbeMs` while no AV1 packet arrives, like a GStreamer udpsrc timeout */
  onIdle: () => void;
  idleProbeMs: number;
  logger: Logger;
}

/**
 * The AV1 track's RTP socket, held by the recorder itself because GStreamer 1.22 has no AV1 depayloader:
 * packets are depacketized here into temporal units and handed to the child through a pipe as X-GST RTP
 * (RFC 4571 framed), keeping their RTP timestamps and SSRC. The child's rtpbin receives them next to the
 * publisher's RTCP sender reports (on port + 1, bound by the child), so A/V sync works as for other codecs.
 */
export class Av1Ingest {
  private readonly socket: Socket;
  private readonly depay = new Av1Depacketizer();
  private readonly pay = new XGstPacketizer();
  private output: Writable | undefined;
  private packetsSinceProbe = 0;
  private readonly idleTimer: NodeJS.Timeout;
  private closed = false;
  private dropping = false;
  /** fixed for the whole recording: a caps change (even in size) is refused by GStreamer's muxers */
  private caps: string | undefined;

  private constructor(
    socket: Socket,
    private readonly options: Av1IngestOptions,
  ) {
    this.socket = socket;
    socket.on('message', (msg) => this.onPacket(msg));
    socket.on('error', (err) => options.logger.warn({ err }, 'AV1 socket error'));
    this.idleTimer = setInterval(() => {
      if (this.packetsSinceProbe === 0) options.onIdle();
      this.packetsSinceProbe = 0;
    }, options.idleProbeMs);
    this.idleTimer.unref();
  }

  /** Binds the track's RTP port (exclusively: a taken port is a PortInUseError). */
  static async open(options: Av1IngestOptions): Promise<Av1Ingest> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false, recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (cause) => {
        socket.close();
        reject(new PortInUseError([options.port], { cause }));
      });
      socket.bind({ port: options.port, address: options.address, exclusive: true }, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    return new Av1Ingest(socket, options);
  }

  /** Where temporal units go: the child's pipe. Packets that arrive before are depacketized and dropped. */
  attach(output: Writable): void {
    this.output = output;
    output.on('error', () => undefined);
  }

  get droppedUnits(): number {
    return this.depay.dropped;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleTimer);
    this.socket.close();
  }

  /**
   * Caps from the stream's first sequence header. Later resolution changes travel in-band (new sequence
   * headers), as decoders expect; the container keeps the first size, like it does for VP8/VP9.
   */
  private capsFor(keyframe: Buffer): string {
    const size = av1StreamSize(keyframe);
    if (!size) this.options.logger.warn('AV1 keyframe without a readable sequence header, assuming 640x480');
    const { maxWidth, maxHeight } = size ?? { maxWidth: 640, maxHeight: 480 };
    return `${AV1_CAPS}, width=(int)${maxWidth}, height=(int)${maxHeight}`;
  }

  private onPacket(msg: Buffer): void {
    const packet = parseRtpPacket(msg);
    if (!packet || packet.payloadType !== this.options.payloadType) return;
    this.packetsSinceProbe++;
    for (const unit of this.depay.push(packet)) {
      const out = this.output;
      if (!out || out.destroyed || !out.writable) continue;
      if (out.writableLength > MAX_PIPE_BACKLOG) this.dropping = true;
      if (this.dropping && !unit.keyframe) continue;
      this.dropping = false;
      if (unit.keyframe && !this.caps) this.caps = this.capsFor(unit.data);
      for (const rtp of this.pay.packetize({
        payloadType: this.options.payloadType,
        ssrc: unit.ssrc,
        timestamp: unit.timestamp,
        keyframe: unit.keyframe,
        ...(unit.keyframe && this.caps ? { caps: this.caps } : {}),
        data: unit.data,
      })) {
        out.write(frameRfc4571(rtp));
      }
    }
  }
}
