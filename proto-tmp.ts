import { startStack, StackClient, ensureReplayMedia, ReplayPublisher, decodeErrors, probe, firstVideoFrameIsKeyframe, readProcTable, treeCpuSeconds } from '@recstack/testkit';
import { mkdtemp } from 'node:fs/promises';
const codec = (process.env.C ?? 'h264') as 'h264';
const media = await ensureReplayMedia('/tmp/replay-cache', { codec, width: 640, height: 360, fps: 30, kbps: 500, keyframeSeconds: 2, seconds: 10 });
const stack = await startStack({ signalingEnv: { RATE_LIMIT_PER_MINUTE: '0' } });
const client = new StackClient(stack.baseUrl, undefined, 100);
await client.waitReady(60000);
try {
  const N = Number(process.env.N ?? 1);
  const pubs = Array.from({ length: N }, (_, i) => new ReplayPublisher({ media, whip: { url: `${stack.baseUrl}/whip` }, startFrame: media.keyframes[i % media.keyframes.length]! }));
  await Promise.all(pubs.map((p) => p.start()));
  const timer = setInterval(() => { const now = performance.now(); for (const p of pubs) p.pump(now); }, 10);
  const cpu0 = treeCpuSeconds(process.pid, readProcTable())!; const t0 = performance.now();
  const recs = await Promise.all(pubs.map((p) => client.start(p.sessionId!)));
  const live = await Promise.all(recs.map((r) => client.waitForStatus(r.id, ['recording', 'failed', 'done'], 20000)));
  console.log(live.map((l) => `${l.status} kf ${l.firstKeyframeMs}`).join(', '));
  await new Promise((r) => setTimeout(r, 6000));
  const done = await Promise.all(recs.map((r) => client.stop(r.id)));
  const cpu1 = treeCpuSeconds(process.pid, readProcTable())!; 
  console.log('gen cpu % per pub', ((cpu1 - cpu0) / ((performance.now() - t0) / 1000) * 100 / N).toFixed(2));
  clearInterval(timer);
  const dir = await mkdtemp('/tmp/proto-');
  for (const d of done.slice(0, 2)) {
    const path = await client.download(d, dir);
    const p = await probe(path);
    console.log(d.status, path, p.durationSec, p.streams.map((s) => s.codec_name), JSON.stringify(await decodeErrors(path)), await firstVideoFrameIsKeyframe(path));
  }
  console.log(pubs[0]!.stats);
  await Promise.all(pubs.map((p) => p.stop()));
} finally { await stack.stop(); }
process.exit(0);
