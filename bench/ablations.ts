import type { Subject } from './subjects.js';

/**
 * Where our GStreamer pipeline's cost goes: the pipeline as the recorder builds it, with one feature taken
 * out at a time. These are argv rewrites of the builder's output for measuring only, not alternatives
 * the recorder could ship as they are (each one drops something the recorder needs, see the labels).
 */
export type Rewrite = (args: readonly string[]) => string[];

/** gst-launch without `-v` (no per-buffer `last-message` from the identity taps, no deep-notify printing) */
export const withoutVerbose: Rewrite = (args) => args.filter((a) => a !== '-v');

/** gst-launch without `-m` (no bus message printing: state changes, udpsrc timeouts, property notifies) */
export const withoutMessages: Rewrite = (args) => args.filter((a) => a !== '-m');

/** mp4mux without robust muxing: no index reserved at the front and rewritten every second */
export const withoutRobustMuxing: Rewrite = (args) =>
  args.filter((a) => !a.startsWith('reserved-max-duration=') && !a.startsWith('reserved-moov-update-period='));

/**
 * Without the tee + identity + checksumsink side branch: `tee name=T ! [queue !] mux.P T. ! identity ... !
 * checksumsink ... async=false` becomes `[queue !] mux.P`.
 */
export const withoutTaps: Rewrite = (args) => {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== 'tee') {
      out.push(args[i] as string);
      continue;
    }
    // `tee name=T ! [queue !] mux.P`: keep what leads to the muxer
    const padRef = args.findIndex((a, j) => j > i && /^mux\.\w+$/.test(a));
    const end = args.indexOf('async=false', i);
    if (padRef < 0 || end < 0) throw new Error('unexpected tee branch in the pipeline');
    out.push(...args.slice(i + 3, padRef + 1));
    i = end;
  }
  return out;
};

/**
 * One rtpjitterbuffer per track instead of rtpbin: no RTCP, so no sender-report sync (what the seed does).
 * `udpsrc(RTP) ! rtpbin.recv_rtp_sink_N` becomes `udpsrc(RTP) ! rtpjitterbuffer name=jbN`, the RTCP
 * udpsrc goes, and the N-th `rtpbin.` reference becomes `jbN.`.
 */
export const withoutRtpbin: Rewrite = (args) => {
  const latency = args.find((a) => a.startsWith('latency=')) ?? 'latency=200';
  const out: string[] = [];
  let branch = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === 'rtpbin' && args[i + 1] === 'name=rtpbin') {
      // rtpbin and its properties (name=rtpbin latency=.. do-lost=true ...)
      while (/^[\w-]+=/.test(args[i + 1] ?? '')) i++;
      continue;
    }
    const sink = /^rtpbin\.recv_rtp_sink_(\d+)$/.exec(a);
    if (sink) {
      out.push('rtpjitterbuffer', `name=jb${sink[1]}`, latency);
      continue;
    }
    if (a === 'udpsrc' && (args[i + 1] ?? '').startsWith('name=rtcp_')) {
      i = args.findIndex((x, j) => j > i && /^rtpbin\.recv_rtcp_sink_\d+$/.test(x));
      continue;
    }
    if (a === 'rtpbin.') {
      out.push(`jb${branch++}.`);
      continue;
    }
    out.push(a);
  }
  return out;
};

export interface Ablation {
  id: string;
  label: string;
  rewrite: Rewrite;
}

const compose =
  (...rewrites: Rewrite[]): Rewrite =>
  (args) =>
    rewrites.reduce<string[]>((acc, r) => r(acc), [...args]);

export const ABLATIONS: Ablation[] = [
  { id: 'no-v', label: 'without -v', rewrite: withoutVerbose },
  { id: 'no-v-m', label: 'without -v -m', rewrite: compose(withoutVerbose, withoutMessages) },
  { id: 'no-taps', label: 'without the identity taps', rewrite: withoutTaps },
  { id: 'no-robust', label: 'without robust muxing', rewrite: withoutRobustMuxing },
  { id: 'no-rtpbin', label: 'rtpjitterbuffer instead of rtpbin', rewrite: withoutRtpbin },
  { id: 'bare', label: 'without all of the above', rewrite: compose(withoutVerbose, withoutMessages, withoutTaps, withoutRobustMuxing, withoutRtpbin) },
];

/** `base` with its argv rewritten; the file is measured as written (no finalize step). */
export function ablated(base: Subject, ablation: Ablation): Subject {
  return {
    id: `${base.id}/${ablation.id}`,
    label: `${base.label}, ${ablation.label}`,
    launch: (ports, dir) => {
      const launch = base.launch(ports, dir);
      const args = ablation.rewrite(launch.args);
      // without rtpbin nothing binds the RTCP ports
      const boundPorts = args.includes('name=rtpbin') ? launch.boundPorts : [ports.video, ports.audio];
      return { ...launch, args, boundPorts, plan: undefined };
    },
  };
}

/**
 * Candidate fixes (what the recorder could ship).
 * Preroll tap: no -v at all; the tap is a fakesink (async=true) behind the delta-dropping identity. It
 * prerolls on its first buffer, so `-m` prints its state change (ready → paused) at the first keyframe
 * and nothing per buffer. (Putting a silent delta-dropping identity in front of the printing one does not
 * help: identity turns every dropped buffer into a GAP event, which the printing one logs in turn.)
 */
export const prerollTap: Rewrite = (args) => {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-v') continue;
    if (a === 'identity' && args[i + 2] === 'drop-buffer-flags=delta-unit') {
      // identity name=N drop-buffer-flags=delta-unit silent=false ! fakesink sync=false async=false
      out.push('identity', 'drop-buffer-flags=delta-unit', '!', 'fakesink', args[i + 1] as string, 'sync=false', 'async=true');
      i = args.indexOf('async=false', i);
      continue;
    }
    out.push(a);
  }
  return out;
};

const AAC_ENCODERS = new Set(['avenc_aac', 'voaacenc']);

/**
 * The AAC encoder swapped (avenc_aac: libavcodec's, two-loop search; `avenc_aac aac-coder=fast`; voaacenc:
 * VisualOn's, gst-plugins-bad), whichever of them the recorder uses now.
 */
export const aacEncoder =
  (...element: string[]): Rewrite =>
  (args) => {
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (!AAC_ENCODERS.has(a)) {
        out.push(a);
        continue;
      }
      out.push(...element);
      if (args[i + 1] === 'aac-coder=fast') i++;
    }
    return out;
  };

export const CANDIDATES: Ablation[] = [
  { id: 'preroll-tap', label: 'no -v, keyframe tap = fakesink preroll', rewrite: prerollTap },
  { id: 'avenc_aac', label: 'AAC by avenc_aac', rewrite: aacEncoder('avenc_aac') },
  { id: 'avenc_aac-fast', label: 'AAC by avenc_aac aac-coder=fast', rewrite: aacEncoder('avenc_aac', 'aac-coder=fast') },
  { id: 'voaacenc', label: 'AAC by voaacenc', rewrite: aacEncoder('voaacenc') },
  { id: 'preroll-tap+no-rtpbin', label: 'no -v, preroll tap, rtpjitterbuffer instead of rtpbin', rewrite: compose(prerollTap, withoutRtpbin) },
];

/** every udpsrc without the sender's address (no GSocketAddress + GstNetAddressMeta per packet) */
export const noSenderAddress: Rewrite = (args) => args.flatMap((a) => (a === 'udpsrc' ? [a, 'retrieve-sender-address=false'] : [a]));

/** no `queue` in front of the muxer's pads: the jitter buffers' threads push into the aggregator */
export const noMuxQueues: Rewrite = (args) => {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === 'queue' && args[i + 1] === '!' && /^mux\.\w+$/.test(args[i + 2] ?? '')) {
      i++;
      continue;
    }
    out.push(args[i] as string);
  }
  return out;
};

/** a `queue` in front of every muxer pad that has none (the pipeline before 2026-12-01) */
export const withMuxQueues: Rewrite = (args) =>
  args.flatMap((a, i) => (/^mux\.\w+$/.test(a) && args[i - 1] === '!' && args[i - 2] !== 'queue' ? ['queue', '!', a] : [a]));

const TAP_QUEUE = ['queue', 'leaky=downstream', 'max-size-buffers=30', '!'];

/** the keyframe tap without its queue: the tee's thread drops the deltas and prints the keyframes itself */
export const tapNoQueue: Rewrite = (args) => {
  const i = args.indexOf('leaky=downstream');
  if (i < 1 || args[i - 1] !== 'queue') return [...args];
  return [...args.slice(0, i - 1), ...args.slice(i + 3)];
};

/** the keyframe tap behind a leaky queue of its own (the pipeline before 2026-12-01) */
export const tapWithQueue: Rewrite = (args) => {
  const i = args.indexOf('video_tee.');
  if (i < 0 || args[i + 2] === 'queue') return [...args];
  return [...args.slice(0, i + 2), ...TAP_QUEUE, ...args.slice(i + 2)];
};

/** the keyframe tap's queue after the identity: only keyframes (and the deltas' GAP events) cross threads */
export const tapQueueAfterDrop: Rewrite = (args) => {
  const withoutQueue = tapNoQueue(args);
  const sink = withoutQueue.indexOf('checksumsink');
  if (sink < 0) return withoutQueue;
  return [...withoutQueue.slice(0, sink), ...TAP_QUEUE, ...withoutQueue.slice(sink)];
};

/** filesink with a larger write buffer */
export const filesinkBuffer =
  (bytes: number): Rewrite =>
  (args) =>
    args.flatMap((a) => (a === 'filesink' ? [a, `buffer-size=${bytes}`] : [a]));

/**
 * What the child's cost per packet and per frame is made of (2026-12-01). Variants that do not change the
 * pipeline they are applied to (a queue removed that is not there) are skipped.
 */
export const COST_CANDIDATES: Ablation[] = [
  { id: 'old-threads', label: 'queues before mp4mux and on the keyframe tap (as before 2026-12-01)', rewrite: compose(withMuxQueues, tapWithQueue) },
  { id: 'mux-queues', label: 'queues before mp4mux (as before 2026-12-01)', rewrite: withMuxQueues },
  { id: 'tap-queue', label: 'keyframe tap behind a leaky queue (as before 2026-12-01)', rewrite: tapWithQueue },
  { id: 'no-mux-queues', label: 'no queues before mp4mux', rewrite: noMuxQueues },
  { id: 'tap-no-queue', label: 'keyframe tap without its queue', rewrite: tapNoQueue },
  { id: 'tap-queue-after-drop', label: 'keyframe tap queue after the delta drop', rewrite: tapQueueAfterDrop },
  { id: 'no-sender-addr', label: 'udpsrc retrieve-sender-address=false', rewrite: noSenderAddress },
  { id: 'filesink-1m', label: 'filesink buffer-size=1 MiB', rewrite: filesinkBuffer(1 << 20) },
];
