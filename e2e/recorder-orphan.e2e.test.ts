// Continuity (issue 12): the recorder that records loses its node process only (SIGKILL to it, its GStreamer
// child left running: `make load`'s `kill-recorder` chaos) and is started again at once with the same
// RECORDER_ID and folder. The fresh process answers media's pings before two are missed, so media never sees
// the recorder go; the fresh process tells media that the recordings are lost (`recorder.v1.lost`), media hands
// each over, and what the orphaned child wrote becomes the first segment. Two recorders, then one (the
// recording goes back to the restarted recorder). Real nats-server and services, a WHIP publisher in Chromium
// (H264 + Opus, recorded to MP4 with AAC).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Recording } from '@recstack/contracts';
import {
  decodeErrors,
  firstVideoFrameIsKeyframe,
  launchChromium,
  longestVideoGap,
  probe,
  startService,
  startStack,
  type ServiceProcess,
  type TestBrowser,
  type TestStack,
} from '@recstack/testkit';
import { descendants, recorderIdOf, startRecording, stopRecording, untilRecorded } from './handover-checks.js';

let stack: TestStack;
let browser: TestBrowser;
/** the recorders running now, by id, with the environment each was started with */
const recorders = new Map<string, { process: ServiceProcess; env: Record<string, string> }>();
const started: ServiceProcess[] = [];

before(async () => {
  stack = await startStack({ recorders: 2 });
  for (const [i, r] of stack.recorders.entries()) recorders.set(await recorderIdOf(r), { process: r, env: stack.envFor('recorder', i) });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of started.reverse()) await p.stop().catch(() => undefined);
  await stack?.stop();
});

/**
 * SIGKILL to the recorder's node process alone, and the same recorder (id, folder, ports) started again at
 * once; resolves with the orphaned children's pids as they were at the kill.
 */
async function killNodeAndRestart(id: string): Promise<number[]> {
  const old = recorders.get(id);
  assert.ok(old, `recorder ${id} runs`);
  const children = await descendants(old.process.child.pid ?? 0);
  assert.ok(children.length > 0, 'the recorder runs a GStreamer child');
  await old.process.stop('SIGKILL');
  const fresh = await startService('recorder', { ...old.env, RECORDER_ID: id });
  started.push(fresh);
  recorders.set(id, { process: fresh, env: { ...old.env, RECORDER_ID: id } });
  return children;
}

/**
 * Which way the recording left the dead process: the fresh one reported it lost (it was up before media
 * missed two pings), or media had handed it over already and the orphan's file was a closed segment. Both
 * must give the same file; the log says which one a run took. The orphan is found and stopped either way,
 * unless it died first (SIGPIPE: its stdout's reader is gone).
 */
function logPath(recordingId: string, recorderId: string): void {
  const fresh = recorders.get(recorderId)?.process;
  const reported = fresh?.logs.some((l) => l.msg === 'recordings of a recorder that died reported lost, media hands them over') ?? false;
  const orphan = fresh?.logs.some((l) => l.msg === 'orphaned recording processes found') ?? false;
  const salvaged = fresh?.logs.some((l) => l.msg === 'segment salvaged' && l.recordingId === recordingId) ?? false;
  console.log(
    `${recordingId}: ${reported ? 'reported lost by the restarted recorder' : 'handed over by media before the restart was up'}; orphan found: ${orphan}; segment salvaged by the restart: ${salvaged}`,
  );
}

/** Video packet times of the file: their spacing before and after the join shows whether a time base broke. */
async function videoPacketTimes(path: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((t) => Number.isFinite(t) && t >= 0)
    .sort((a, b) => a - b);
}

/** Frames per second of video in [fromSec, toSec) of the file. */
function rate(times: readonly number[], fromSec: number, toSec: number): number {
  return times.filter((t) => t >= fromSec && t < toSec).length / (toSec - fromSec);
}

/**
 * What the user gets: one file, `done` as asked, two segments, the declared gaps at most 2 s in total,
 * duration = wall time − gaps ± 1 s, a clean decode, a keyframe first, and video timestamps that go on at the
 * same pace after the join as before it (a time base mixed up by the concat would play one segment fast).
 */
async function assertOneFile(done: Recording, killedAtMs: number): Promise<void> {
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(done.stopReason, 'requested', 'nothing ended the recording but the stop');
  assert.equal(done.segments?.length, 2, `two segments: ${JSON.stringify(done.segments)}`);
  const gapMs = (done.gaps ?? []).reduce((n, g) => n + g.ms, 0);
  assert.ok(gapMs <= 2000, `declared gaps ${JSON.stringify(done.gaps)}`);
  const wallMs = Date.parse(done.stoppedAt ?? '') - Date.parse(done.startedAt ?? '');
  assert.ok(Math.abs((done.durationMs ?? 0) - (wallMs - gapMs)) <= 1000, `duration ${done.durationMs} ms, wall ${wallMs} ms, gaps ${gapMs} ms`);
  const path = join(stack.recordingsDir, done.fileName);
  const probed = await probe(path);
  assert.equal(probed.streams.find((s) => s.codec_type === 'video')?.codec_name, 'h264');
  assert.equal(probed.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
  assert.ok(Math.abs(probed.durationSec * 1000 - (done.durationMs ?? 0)) <= 500, `file ${probed.durationSec} s, recording object ${done.durationMs} ms`);
  assert.equal(await decodeErrors(path), '', 'a full decode prints no error');
  assert.equal(await firstVideoFrameIsKeyframe(path), true, 'the first frame is a keyframe');
  const times = await videoPacketTimes(path);
  const lastSec = times.at(-1) ?? 0;
  assert.ok(Math.abs(lastSec * 1000 - (done.durationMs ?? 0)) <= 1000, `the last video frame at ${lastSec} s of ${done.durationMs} ms`);
  const joinSec = (done.gaps?.[0]?.atMs ?? killedAtMs) / 1000;
  const before = rate(times, 1, joinSec - 0.5);
  const after = rate(times, joinSec + 2.5, lastSec - 0.5);
  console.log(`video ${before.toFixed(1)} frames/s before the join at ${joinSec} s, ${after.toFixed(1)} after`);
  assert.ok(after <= before * 1.6 && after >= before / 1.6, `the same pace on both sides of the join: ${before.toFixed(1)} and ${after.toFixed(1)} frames/s`);
  const gap = await longestVideoGap(path);
  assert.ok(gap.longestMs <= 2500, `longest stretch without video ${gap.longestMs} ms at ${gap.atSec} s`);
  const left = (await readdir(stack.recordingsDir)).filter((f) => f.startsWith(done.id) && f !== done.fileName);
  assert.deepEqual(left, [], 'the segment files are gone once joined');
}

test(
  'two recorders: SIGKILL to the recording recorder node process only (its GStreamer child left running), restarted at once with the same id: one file, done, gaps at most 2 s',
  { timeout: 240_000 },
  async () => {
    const { recording, close } = await startRecording(browser, stack.baseUrl, { videoCodec: 'h264' });
    const id = recording.recorderId ?? '';
    await untilRecorded(recording, 5000);
    await killNodeAndRestart(id);
    await untilRecorded(recording, 15_000);
    logPath(recording.id, id);
    const done = await stopRecording(stack.baseUrl, recording.id);
    console.log(`two recorders: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments, recorderId: done.recorderId })}`);
    assert.equal(done.segments?.[0]?.recorderId, id, "the orphan's file is the first segment");
    await assertOneFile(done, 5000);
    await close();
  },
);

test(
  'one recorder: the same kill and restart; the recording goes back to the restarted recorder: one file, done, gaps at most 2 s',
  { timeout: 240_000 },
  async () => {
    // leave one recorder: the other is stopped while it records nothing
    const [keep, drop] = [...recorders.keys()];
    const dropped = recorders.get(drop ?? '');
    assert.ok(keep && dropped);
    await dropped.process.stop('SIGTERM');
    recorders.delete(drop ?? '');
    const { recording, close } = await startRecording(browser, stack.baseUrl, { videoCodec: 'h264' });
    assert.equal(recording.recorderId, keep);
    await untilRecorded(recording, 5000);
    await killNodeAndRestart(keep);
    await untilRecorded(recording, 15_000);
    logPath(recording.id, keep);
    const done = await stopRecording(stack.baseUrl, recording.id);
    console.log(`one recorder: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments, recorderId: done.recorderId })}`);
    assert.equal(done.recorderId, keep, 'the restarted recorder took it back');
    assert.deepEqual(
      done.segments?.map((s) => s.recorderId),
      [keep, keep],
    );
    await assertOneFile(done, 5000);
    await close();
  },
);
