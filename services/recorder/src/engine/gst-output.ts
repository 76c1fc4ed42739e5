import type { ChildEvent, ChildOutputParser } from './child-events.js';
import { GST_NAMES } from './gst-pipeline.js';

// gst-launch-1.0 -v -m output, as printed by GStreamer 1.22:
//   Got message #198 from element "rtp_video" (state-changed): GstMessageStateChanged, old-state=(GstState)paused, new-state=(GstState)playing, ...
//   0:00:01.233333333 6f1ed002ab5595859014ebf0951522d9      (checksumsink keyframe tap: pts, md5)
//   Got message #530 from element "rtp_video" (element): GstUDPSrcTimeout, timeout=(guint64)10000000000;
//   ERROR: from element /GstPipeline:pipeline0/GstUDPSrc:rtcp_video: Could not get/set settings from/on resource.
//   bind failed: Error binding to address 127.0.0.1:41001: Address already in use
//   Got EOS from element "pipeline0".
const ELEMENT_PLAYING = /^Got message #\d+ from element "(\w+)" \(state-changed\): .*new-state=\(GstState\)playing/;
/** checksumsink prints "<pts> <md5>" per buffer; only the video keyframe tap has one */
const KEYFRAME_LINE = /^(?:\d+:\d{2}:\d{2}\.\d{9}|99:99:99\.999999999) [0-9a-f]{32}$/;
const UDPSRC_TIMEOUT = /^Got message #\d+ from element "(\w+)" \(element\): GstUDPSrcTimeout\b/;
const ELEMENT_ERROR = /^ERROR: from element (\S+): (.*)$/;
const OTHER_ERROR = /^(?:ERROR|WARNING): (?!from element)(.*)$/;
const BIND_FAILED = /bind failed: .*?:(\d+): Address already in use/;
const EOS = /^Got EOS from element "pipeline\d+"/;
/**
 * gst-launch prints a bus message in two writes (`Got message #N from element "x" (type): `, then the
 * structure and the newline) from its main thread, while checksumsink prints its line in one write from a
 * streaming thread. The first keyframe flows exactly while the pipeline's state changes are printed, so its
 * line can land between the two halves: `Got message #12 from element "mux" (state-changed): 0:00:00.2 <md5>`.
 */
const SPLIT_MESSAGE = /^(Got message #\d+ from element "[^"]*" \([^)]*\): )(.+)$/;

const RTP_SOURCES = new Map<string, 'video' | 'audio'>([
  [GST_NAMES.rtpSource('video'), 'video'],
  [GST_NAMES.rtpSource('audio'), 'audio'],
]);

/**
 * Listening means every udpsrc is PLAYING: its socket was bound when it went to READY and it reads from it
 * now. (The pipeline as a whole reaches PLAYING only once data has reached the file sink, which in a live
 * pipeline is after the first RTP packets: too late to tell media to start sending.)
 */
export class GstOutputParser implements ChildOutputParser {
  private readonly waitingFor: Set<string>;
  private listening = false;
  /** the first half of a bus message whose line a keyframe line cut in two */
  private messageStart = '';

  /** @param sources names of the udpsrc elements that must all be playing */
  constructor(sources: readonly string[]) {
    this.waitingFor = new Set(sources);
  }

  parse(raw: string): ChildEvent[] {
    const split = SPLIT_MESSAGE.exec(raw);
    if (split && KEYFRAME_LINE.test(split[2] ?? '')) {
      // the message's second half is the next line: put the two halves back together
      this.messageStart = split[1] ?? '';
      return [{ type: 'keyframe', track: 'video' }];
    }
    const line = this.messageStart + raw;
    this.messageStart = '';
    return this.parseLine(line);
  }

  private parseLine(line: string): ChildEvent[] {
    const playing = ELEMENT_PLAYING.exec(line);
    if (playing) {
      this.waitingFor.delete(playing[1] ?? '');
      if (this.waitingFor.size > 0 || this.listening) return [];
      this.listening = true;
      return [{ type: 'listening' }];
    }
    if (KEYFRAME_LINE.test(line)) return [{ type: 'keyframe', track: 'video' }];
    const timeout = UDPSRC_TIMEOUT.exec(line);
    if (timeout) {
      const track = RTP_SOURCES.get(timeout[1] ?? '');
      return track ? [{ type: 'rtp-idle', track }] : [];
    }
    const bind = BIND_FAILED.exec(line);
    if (bind) return [{ type: 'port-in-use', port: Number(bind[1]) }];
    const elementError = ELEMENT_ERROR.exec(line);
    if (elementError) return [{ type: 'error', message: `${shortElement(elementError[1] ?? '')}: ${elementError[2] ?? ''}` }];
    const otherError = OTHER_ERROR.exec(line);
    if (otherError && line.startsWith('ERROR')) return [{ type: 'error', message: otherError[1] ?? line }];
    if (otherError && /erroneous pipeline|could not be constructed/.test(line)) return [{ type: 'error', message: otherError[1] ?? line }];
    if (EOS.test(line)) return [{ type: 'eos' }];
    return [];
  }
}

/** `/GstPipeline:pipeline0/GstUDPSrc:rtp_video` → `rtp_video` */
function shortElement(path: string): string {
  const last = path.split('/').pop() ?? path;
  return last.includes(':') ? last.slice(last.indexOf(':') + 1) : last;
}
