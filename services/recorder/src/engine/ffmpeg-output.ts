import type { ChildEvent, ChildOutputParser } from './child-events.js';

// ffmpeg -loglevel level+warning -progress pipe:1 output (FFmpeg 5.1):
//   stdout, every stats period:  frame=45 / out_time_us=1500000 / ... / progress=continue (progress=end last)
//   stderr:  [udp @ 0x55d0] [error] bind failed: Address already in use
//            pipe:: Connection timed out          (no packet for -listen_timeout seconds)
const PROGRESS = /^(frame|out_time_us|progress)=(.*)$/;
const LEVEL = /\[(error|fatal|panic)\] (.*)$/;

export class FfmpegOutputParser implements ChildOutputParser {
  private firstFrameSeen = false;

  /** @param hasVideo the first frame counted is a video keyframe; audio-only recordings count output time */
  constructor(private readonly hasVideo: boolean) {}

  parse(line: string, stream: 'stdout' | 'stderr'): ChildEvent[] {
    return stream === 'stdout' ? this.progress(line) : this.log(line);
  }

  private progress(line: string): ChildEvent[] {
    const m = PROGRESS.exec(line.trim());
    if (!m) return [];
    const [, key, value = ''] = m;
    if (key === 'progress') return value === 'end' ? [{ type: 'eos' }] : [];
    if (this.firstFrameSeen) return [];
    // FFmpeg copies no frame before the first keyframe, so the first frame counted is one
    if (key === 'frame' && this.hasVideo && Number(value) > 0) return this.first('video');
    if (key === 'out_time_us' && !this.hasVideo && Number(value) > 0) return this.first('audio');
    return [];
  }

  private first(track: 'video' | 'audio'): ChildEvent[] {
    this.firstFrameSeen = true;
    return [{ type: 'keyframe', track }];
  }

  private log(line: string): ChildEvent[] {
    if (/bind failed: Address already in use/.test(line)) return [{ type: 'port-in-use' }];
    if (/Connection timed out/.test(line)) return [{ type: 'rtp-timeout' }];
    const level = LEVEL.exec(line);
    // decoder complaints while FFmpeg probes the first packets are not fatal; the exit code tells
    if (level && level[1] !== 'error') return [{ type: 'error', message: level[2] ?? line }];
    return [];
  }
}
