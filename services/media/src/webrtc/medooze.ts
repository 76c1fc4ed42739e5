/**
 * Typed access to medooze-media-server. The package ships JavaScript whose generated typings are not
 * part of the installed build, so this module declares the small surface the service uses and loads
 * the CommonJS module once. Everything Medooze-specific goes through here.
 */
import { createRequire } from 'node:module';
import type { CandidateInfo, DTLSInfo, ICEInfo, MediaInfo, SDPInfo, StreamInfo, TrackInfo } from 'semantic-sdp';

export type DtlsState = 'new' | 'connecting' | 'connected' | 'closed' | 'failed';

/** Medooze's emitters rethrow listener exceptions asynchronously (process crash): listeners must not throw. */
export interface MedoozeEmitter<Events extends Record<string, (...args: never[]) => void>> {
  on<E extends keyof Events & string>(event: E, listener: Events[E]): this;
  once<E extends keyof Events & string>(event: E, listener: Events[E]): this;
  off<E extends keyof Events & string>(event: E, listener: Events[E]): this;
}

/**
 * What a transport needs of its remote peer. No candidates: Medooze probes every remote candidate it is
 * given (meant for ICE-lite peers, which publishers are not), and that would send our UDP wherever an offer
 * points. ICE-lite learns the publisher's address from the checks the publisher sends.
 */
export interface RemotePeerInfo {
  ice: ICEInfo;
  dtls: DTLSInfo;
}

/** Per-source receive statistics (IncomingStreamTrack MediaStats). */
export interface SourceStats {
  lostPackets: number;
  dropPackets?: number;
  numPackets: number;
  numFrames: number;
  totalBytes: number;
  totalPLIs?: number;
  totalNACKs?: number;
  bitrate: number;
  width?: number;
  height?: number;
}

export interface EncodingStats {
  timestamp: number;
  rtt: number;
  bitrate: number;
  media: SourceStats;
  rtx: SourceStats;
  lostPackets: number;
  numPackets: number;
  totalBytes: number;
  width?: number;
  height?: number;
}

export type TrackStats = Record<string, EncodingStats>;

/** The native receive group of one encoding (RTPIncomingSourceGroup), the fields media reads. */
export interface EncodingSource {
  /** the longest a packet forwarded in the last second waited for a missing predecessor (ms) */
  maxWaitedTime: number;
  /** round-trip time Medooze measured (ms) */
  rtt: number;
}

export interface IncomingStreamTrack extends MedoozeEmitter<{ stopped: () => void }> {
  getId(): string;
  getMediaId(): string;
  getMedia(): 'audio' | 'video';
  /** sends a PLI for every encoding */
  refresh(): void;
  getStatsAsync(): Promise<TrackStats>;
  /** how long out-of-order packets wait for a missing one before it is given up (ms); overrides Medooze's RTT rule */
  setMaxWaitTime(ms: number): void;
  /** Medooze's own receive state per encoding ("internal use" in its docs; plain field reads, no call into its thread) */
  getEncodings(): Array<{ source: EncodingSource }>;
  stop(): void;
}

export interface IncomingStream extends MedoozeEmitter<{ stopped: () => void }> {
  getId(): string;
  getTracks(): IncomingStreamTrack[];
  stop(): void;
}

export interface Transport extends MedoozeEmitter<{
  stopped: () => void;
  icetimeout: () => void;
  dtlsstate: (state: DtlsState) => void;
  /** the publisher's address Medooze now sends to (set by the publisher's checks: its first one, then its nomination) */
  remoteicecandidate: (candidate: CandidateInfo) => void;
}> {
  setRemoteProperties(sdp: SDPInfo): void;
  setLocalProperties(sdp: SDPInfo): void;
  getLocalDTLSInfo(): DTLSInfo;
  getLocalICEInfo(): ICEInfo;
  getDTLSState(): DtlsState;
  /** ICE counters of the connection (undefined once stopped) */
  getStats(): { ice?: { requestsReceived: number; responsesSent: number; requestsSent: number; responsesReceived: number } | undefined };
  createIncomingStream(info: StreamInfo): IncomingStream;
  createIncomingStreamTrack(media: 'audio' | 'video', params: TrackInfo): IncomingStreamTrack;
  /** the bitrate (bit/s) every REMB to the publisher announces; needs a transport created with `overrideBWE` */
  setRemoteOverrideBitrate(bitrate: number): void;
  stop(): void;
}

export interface Endpoint extends MedoozeEmitter<{ stopped: () => void }> {
  createTransport(remote: RemotePeerInfo, local?: undefined, options?: { overrideBWE?: boolean }): Transport;
  getLocalCandidates(): CandidateInfo[];
  getLocalPort(): number;
  /** names the endpoint's receive/send thread (Linux, at most 15 characters) */
  setThreadName(name: string): boolean;
  stop(): void;
}

export interface Transponder {
  stop(): void;
}

export interface OutgoingStreamTrack {
  attachTo(track: IncomingStreamTrack): Transponder;
  detach(): void;
  stop(): void;
}

export interface StreamerSession extends MedoozeEmitter<{ stopped: () => void }> {
  getLocalPort(): number;
  getOutgoingStreamTrack(): OutgoingStreamTrack;
  stop(): void;
}

export interface Streamer {
  createSession(media: MediaInfo, params: { remote: { ip: string; port: number } }): StreamerSession;
  stop(): void;
}

export interface MediaServer {
  enableLog(flag: boolean): void;
  enableWarning(flag: boolean): void;
  enableDebug(flag: boolean): void;
  setPortRange(min: number, max: number): boolean;
  createEndpoint(ip: string): Endpoint;
  createStreamer(): Streamer;
  terminate(): void;
}

let loaded: MediaServer | undefined;

/** The Medooze module, loaded on first use (it starts native threads as soon as it is required). */
export function medooze(): MediaServer {
  loaded ??= createRequire(import.meta.url)('medooze-media-server') as MediaServer;
  return loaded;
}
