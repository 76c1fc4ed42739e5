/** What a recording child process tells us, whichever engine it runs. */
export type ChildEvent =
  /** sockets bound and the pipeline playing: RTP may flow */
  | { type: 'listening' }
  /** a keyframe (or, for audio-only recordings, an audio frame) reached the muxer */
  | { type: 'keyframe'; track: 'video' | 'audio' }
  /** no RTP arrived on this track's socket for the configured timeout */
  | { type: 'rtp-idle'; track: 'video' | 'audio' }
  /** the child itself gave up waiting for RTP on every socket */
  | { type: 'rtp-timeout' }
  /** a socket could not be bound; `port` when the child names it */
  | { type: 'port-in-use'; port?: number }
  | { type: 'error'; message: string }
  /** the end of stream reached the file: the file is finalized */
  | { type: 'eos' };

/** A line-by-line reader of one child's output. Stateful (some facts span lines), one per child. */
export interface ChildOutputParser {
  parse(line: string, stream: 'stdout' | 'stderr'): ChildEvent[];
}
