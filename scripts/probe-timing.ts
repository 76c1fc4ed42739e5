// The stop path's probe, timed over N recordings stopped at once (issue 10, capacity): N ready-made files of
// the recorder's MP4 shape (720p30 H264 as avc3 + AAC, GStreamer's robust mp4mux), probed all at once, first
// with the ffprobe read a stop made before (probeTrackStats: every packet, keyframes decoded), then with
// probeFile as a stop makes it now (an MP4 read in this process: no child). Prints each run's per-file
// p50/p95/max and its wall time. Not a test: figures depend on the machine and its load.
//   npx tsx --conditions=development scripts/probe-timing.ts [files=20] [seconds=30]
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { probeFile, probeTrackStats } from '@recstack/recorder';

const files = Number(process.argv[2] ?? 20);
const seconds = Number(process.argv[3] ?? 30);
const tools = { ffprobe: 'ffprobe', ffmpeg: 'ffmpeg' };

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'recstack-probe-timing-'));
  try {
    const source = join(dir, 'source.mp4');
    const frames = seconds * 30;
    // prettier-ignore
    await promisify(execFile)('gst-launch-1.0', ['-q', '-e',
      'videotestsrc', `num-buffers=${frames}`, 'pattern=ball', '!', 'video/x-raw,width=1280,height=720,framerate=30/1', '!',
      'x264enc', 'tune=zerolatency', 'speed-preset=ultrafast', 'key-int-max=60', '!', 'h264parse', 'config-interval=-1', '!',
      'video/x-h264,stream-format=avc3,alignment=au', '!', 'mux.video_0',
      'audiotestsrc', `num-buffers=${Math.round((seconds * 48000) / 1024)}`, '!', 'audio/x-raw,rate=48000,channels=2', '!', 'voaacenc', '!', 'aacparse', '!', 'mux.audio_0',
      'mp4mux', 'name=mux', 'reserved-max-duration=14400000000000', 'reserved-moov-update-period=1000000000', '!', 'filesink', `location=${source}`]);
    const paths = Array.from({ length: files }, (_, i) => join(dir, `r${i}.mp4`));
    for (const path of paths) await copyFile(source, path);
    await timed('before: ffprobe read (probeTrackStats)', paths, async (p) => {
      if (!(await probeTrackStats(p, tools, 'video'))) throw new Error(`ffprobe could not read ${p}`);
    });
    // no ffprobe to start: the read must be in process, or this run fails
    const none = { ffprobe: join(dir, 'no-ffprobe'), ffmpeg: join(dir, 'no-ffmpeg') };
    await timed('after: probeFile (in process)', paths, async (p) => {
      const facts = await probeFile(p, none);
      if (facts.stats?.framesWritten !== frames) throw new Error(`${p}: ${facts.stats?.framesWritten} frames, ${frames} written`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function timed(label: string, paths: readonly string[], probe: (path: string) => Promise<void>): Promise<void> {
  const started = performance.now();
  const each = await Promise.all(
    paths.map(async (p) => {
      const t = performance.now();
      await probe(p);
      return performance.now() - t;
    }),
  );
  const wall = performance.now() - started;
  const sorted = [...each].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  console.log(
    `${label}: ${paths.length} files at once, per file p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${at(1).toFixed(0)} ms; wall ${wall.toFixed(0)} ms`,
  );
}

await main();
