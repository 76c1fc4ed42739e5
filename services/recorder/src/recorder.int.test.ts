import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CHANGING_RESOLUTIONS, decodeErrors, firstVideoFrameIsKeyframe, probe, startRtpPublisher, type RtpPublisher } from '@recstack/testkit';
import { createSocket } from 'node:dgram';
import { readdir } from 'node:fs/promises';
import { encodeJson, RemoteError } from '@recstack/service-kit';
import { rpc, rpcSubject } from '@recstack/contracts';
import {
  audioTrack,
  childPid,
  delay,
  frameSizes,
  videoSpanMs,
  processAlive,
  rtpPorts,
  startRecorderHarness,
  startRequest,
  topLevelBoxes,
  videoTrack,
  type RecorderHarness,
} from './testing/recorder-harness.js';

let h: RecorderHarness;
const publishers: RtpPublisher[] = [];

before(async () => {
  h = await startRecorderHarness({ RECORDER_RTP_TIMEOUT: '4', RECORDER_STOP_TIMEOUT: '3' });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await h?.close();
});

/** What the recorder logged about files that do not decode cleanly, for failure messages. */
function recorderComplaints(harness: RecorderHarness): string {
  return JSON.stringify(harness.service.logs.filter((l) => l.msg === 'file does not decode cleanly' || l.level === 'error'));
}

test('start/stop over NATS records a playable H264+Opus MP4 (AAC, index at the front, resolution changes decode)', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  const events = h.watch(req.recordingId);

  const listening = await h.start(req);
  assert.equal(listening.recordingId, req.recordingId);
  assert.equal(listening.recorderId, h.recorderId);
  assert.equal(listening.host, '127.0.0.1');
  assert.deepEqual(listening.ports, [videoPort, audioPort]);
  assert.equal(listening.fileName, `${req.recordingId}.mp4`);
  assert.equal(listening.engine, 'gstreamer');
  await events.next('listening');

  // like Chromium's camera: the resolution climbs during the first seconds
  const publisher = startRtpPublisher({
    video: { codec: 'h264', port: videoPort, keyframeInterval: 30, resolutions: [...CHANGING_RESOLUTIONS], secondsPerStep: 1.5 },
    audio: { port: audioPort },
  });
  publishers.push(publisher);
  await events.next('first-keyframe', 10_000);
  const recording = await h.entryWhen(req.recordingId, (r) => r.status === 'recording');
  assert.ok(recording.startedAt);

  await delay(7000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();

  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal(report.reason, 'requested');
  assert.equal(report.decodeCheck, 'pending', 'done before the decode');
  assert.ok(report.durationMs > 5500 && report.durationMs < 8500, `duration ${report.durationMs} ms`);
  assert.deepEqual(report.tracks.map((t) => `${t.kind}:${t.codec}`).sort(), ['audio:aac', 'video:h264']);
  assert.equal(report.tracks.find((t) => t.kind === 'audio')?.sampleRate, 48000);

  const path = join(h.dir, report.fileName);
  assert.equal((await stat(path)).size, report.sizeBytes);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  const boxes = await topLevelBoxes(path);
  assert.ok(boxes.indexOf('moov') >= 0 && boxes.indexOf('moov') < boxes.indexOf('mdat'), `index at the front: ${boxes.join(' ')}`);
  const sizes = await frameSizes(path);
  assert.ok(sizes.length >= 2, `the resolution changes are in the file: ${sizes.join(', ')}`);

  const finished = await events.next('finished');
  assert.equal(finished.report.status, 'done');
  const done = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(done.durationMs, report.durationMs);
  assert.equal(done.sizeBytes, report.sizeBytes);
  assert.equal(done.recorderId, null, 'the report leaves recorderId to media, which places recordings (no media here)');
  assert.ok(done.firstKeyframeMs !== null);
  // the background verification fills what the report left pending, in the event and in the catalog
  const verified = await events.verified();
  assert.deepEqual(verified.fileCheck, { decodesCleanly: true, scope: 'full' }, recorderComplaints(h));
  assert.equal(verified.mode, 'full');
  const checked = await h.entryWhen(req.recordingId, (r) => r.fileCheck != null);
  assert.deepEqual(checked.fileCheck, verified.fileCheck);
});

/** The error reply to a raw message on a subject. */
async function rawReply(subject: string, data: Uint8Array): Promise<{ ok: boolean; error?: { code: string; message: string } }> {
  const msg = await h.nc.request(subject, data, { timeout: 5000 });
  return JSON.parse(new TextDecoder().decode(msg.data)) as { ok: boolean; error?: { code: string; message: string } };
}

async function expectRemoteError(promise: Promise<unknown>, code: string): Promise<RemoteError> {
  let caught: unknown;
  await promise.catch((err: unknown) => (caught = err));
  assert.ok(caught instanceof RemoteError, `expected a ${code} error reply, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

async function filesBefore(): Promise<string[]> {
  return (await readdir(h.dir)).sort();
}

async function noActiveRecordings(): Promise<void> {
  const [pong] = await h.ping();
  assert.equal(pong?.active, 0);
}

test('malformed messages on every subject get a BAD_REQUEST reply and the service keeps serving', async () => {
  const subjectsToTry = [rpc.recorder.start.subject, rpcSubject(rpc.recorder.stop, h.recorderId), rpc.recorder.ping.subject];
  for (const subject of subjectsToTry) {
    const notJson = await rawReply(subject, new TextEncoder().encode('{not json'));
    assert.equal(notJson.ok, false);
    assert.equal(notJson.error?.code, 'BAD_REQUEST', subject);
    const wrongShape = await rawReply(subject, encodeJson({ recordingId: 'a.b', tracks: 'nope', extra: true }));
    assert.equal(wrongShape.error?.code, 'BAD_REQUEST', subject);
  }
  const duplicatePorts = await rawReply(rpc.recorder.start.subject, encodeJson(startRequest([videoTrack('h264', 50000), audioTrack(50001)], 'mp4', 'aac')));
  assert.equal(duplicatePorts.error?.code, 'BAD_REQUEST');
  assert.match(duplicatePorts.error?.message ?? '', /ports/);
  const pongs = await h.ping();
  assert.equal(pongs.length, 1);
  const { capacityUnits, loadUnits, costs, cpuPercent, maxCpuPercent, ...pong } = pongs[0] ?? {};
  assert.deepEqual(pong, { recorderId: h.recorderId, engine: 'gstreamer', host: '127.0.0.1', active: 0, capacity: 16, recordings: [] });
  assert.equal(loadUnits, 0);
  assert.ok(capacityUnits !== undefined && capacityUnits > 0 && costs !== undefined && maxCpuPercent === 100, JSON.stringify(pongs[0]));
  assert.ok(cpuPercent === null || (cpuPercent !== undefined && cpuPercent >= 0 && cpuPercent <= 100));
  assert.equal(h.service.child.exitCode, null, 'the recorder is still running');
});

test('impossible requests are refused with a clear error before anything starts', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const filesNow = await filesBefore();
  const h264InWebm = await expectRemoteError(
    h.start(startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'webm', 'opus')),
    'UNSUPPORTED_FORMAT',
  );
  assert.match(h264InWebm.message, /H264 video cannot be written to webm; use mp4 or mkv/);
  await expectRemoteError(h.start(startRequest([videoTrack('vp8', videoPort), audioTrack(audioPort)], 'webm', 'aac')), 'UNSUPPORTED_FORMAT');
  const interleaved = await expectRemoteError(
    h.start(startRequest([{ ...videoTrack('h264', videoPort), fmtp: 'packetization-mode=2' }, audioTrack(audioPort)], 'mp4', 'aac')),
    'UNSUPPORTED_CODEC',
  );
  assert.match(interleaved.message, /packetization-mode=2/);
  await expectRemoteError(h.start(startRequest([{ ...videoTrack('h264', videoPort), clockRate: 8000 }], 'mp4', null)), 'BAD_REQUEST');
  await noActiveRecordings();
  assert.deepEqual(await filesBefore(), filesNow, 'no file was created');
});

test('a port that cannot be bound gets PORT_IN_USE and leaves nothing running', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const filesNow = await filesBefore();
  // someone holds the audio track's RTCP port
  const squatter = createSocket('udp4');
  await new Promise<void>((resolve) => squatter.bind(audioPort + 1, '127.0.0.1', resolve));
  const refused = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  try {
    const err = await expectRemoteError(h.start(refused), 'PORT_IN_USE');
    assert.match(err.message, new RegExp(String(audioPort + 1)));
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
  await noActiveRecordings();
  assert.deepEqual(await filesBefore(), filesNow, 'no file was created');
  assert.equal(
    h.service.logs.filter((l) => l.msg === 'recording process started' && l.recordingId === refused.recordingId).length,
    0,
    'no child was spawned for a port known to be taken',
  );
  // the same ports work once they are free
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.start(req);
  const report = await h.stop(req.recordingId);
  assert.equal(report.status, 'failed', 'nothing was sent');
  assert.equal(report.error?.code, 'NO_MEDIA');
});

test('RTP that stops is finalized after RECORDER_RTP_TIMEOUT and reported (rtp-timeout)', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort }, audio: { port: audioPort } });
  publishers.push(publisher);
  await events.next('first-keyframe', 10_000);
  await delay(3000);
  await publisher.stop();
  const stoppedSending = Date.now();
  const stopping = await events.next('stopping', 15_000);
  assert.equal(stopping.reason, 'rtp-timeout');
  const finished = await events.next('finished', 30_000);
  const waited = Date.now() - stoppedSending;
  assert.ok(waited >= 3500, `finalized ${waited} ms after the RTP stopped, not before the 4 s timeout`);
  assert.equal(finished.report.status, 'done');
  assert.equal(finished.report.reason, 'rtp-timeout');
  assert.equal((await events.verified()).fileCheck.decodesCleanly, true, recorderComplaints(h));
  assert.ok(finished.report.durationMs > 2000 && finished.report.durationMs < 4500, `duration ${finished.report.durationMs}`);
  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.stopReason, 'rtp-timeout');
  // a stop that comes afterwards (media had not noticed) still gets the report
  assert.deepEqual(await h.stop(req.recordingId), finished.report);
  await noActiveRecordings();
});

test('a recording that never receives RTP ends after the timeout as failed with NO_MEDIA', async () => {
  const [videoPort = 0] = await rtpPorts(1);
  const req = startRequest([videoTrack('vp8', videoPort)], 'webm', null);
  const events = h.watch(req.recordingId);
  await h.start(req);
  const finished = await events.next('finished', 20_000);
  assert.equal(finished.report.status, 'failed');
  assert.equal(finished.report.reason, 'rtp-timeout');
  assert.equal(finished.report.error?.code, 'NO_MEDIA');
  assert.equal(finished.report.startedAt, null);
});

test('kill -9 of the recording child: an event, not an exception; the file is salvaged and reported', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort }, audio: { port: audioPort } });
  publishers.push(publisher);
  await events.next('first-keyframe', 10_000);
  const firstKeyframeAt = Date.now();
  await delay(6000);
  const pid = await childPid(h, req.recordingId);
  process.kill(pid, 'SIGKILL');
  const recordedMs = Date.now() - firstKeyframeAt;
  const finished = await events.next('finished', 30_000);
  await publisher.stop();
  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
  assert.equal(finished.report.reason, 'error');
  const path = join(h.dir, finished.report.fileName);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  const keptMs = await videoSpanMs(path);
  const lostMs = recordedMs - keptMs;
  console.log(`kill -9 of the child after ${recordedMs} ms of video: ${keptMs} ms kept, ${lostMs} ms lost`);
  assert.ok(lostMs <= 2000, `at most 2 s lost, lost ${lostMs} ms`);
  const boxes = await topLevelBoxes(path);
  assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), boxes.join(' '));
  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.stopReason, 'error');
  await noActiveRecordings();
  assert.equal(h.service.child.exitCode, null, 'the recorder itself is still running');
});

test('a child that ignores EOS is escalated (SIGTERM, SIGKILL) and still leaves a playable file', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort }, audio: { port: audioPort } });
  publishers.push(publisher);
  await events.next('first-keyframe', 10_000);
  await delay(4000);
  const pid = await childPid(h, req.recordingId);
  // a stopped process takes no SIGINT or SIGTERM: only SIGKILL ends it, like a hung pipeline
  process.kill(pid, 'SIGSTOP');
  const started = Date.now();
  const report = await h.stop(req.recordingId);
  const took = Date.now() - started;
  await publisher.stop();
  assert.ok(took >= 4000, `the stop waited for both steps of the ladder (${took} ms)`);
  assert.equal(await processAlive(pid), false);
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.ok(report.durationMs >= 2000, `duration ${report.durationMs}`);
  assert.equal(await decodeErrors(join(h.dir, report.fileName)), '');
  const escalations = h.service.logs.filter((l) => l.msg === 'process did not exit in time, escalating' && l.recordingId === req.recordingId);
  assert.deepEqual(
    escalations.map((l) => l.action),
    ['SIGINT', 'SIGTERM'],
    'EOS and SIGTERM both timed out, then SIGKILL',
  );
});

test('a requested track that never receives a packet: nothing is announced as written, the stop is not held up, the report says why', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  // the publisher sends video only: the audio socket stays silent, and a muxer writes nothing before
  // every track has delivered data
  const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort } });
  publishers.push(publisher);
  await delay(5000);
  assert.equal(
    events.events.find((e) => e.type === 'first-keyframe'),
    undefined,
    'no keyframe was written, so none is announced',
  );
  const started = Date.now();
  const report = await h.stop(req.recordingId);
  const took = Date.now() - started;
  await publisher.stop();
  console.log(`stop with a silent track took ${took} ms`);
  assert.ok(took < 2500 + 3000, `the stop took ${took} ms`);
  assert.equal(report.status, 'failed', JSON.stringify(report));
  assert.equal(report.error?.code, 'NO_MEDIA');
});

test('ops endpoints: /healthz, /readyz with its checks, /metrics with the recorder metrics', async () => {
  const base = `http://127.0.0.1:${h.opsPort}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { checks: Record<string, unknown> };
  assert.equal(body.checks.nats, true);
  assert.equal(body.checks.capacity, 16);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const name of [
    'recorder_active_recordings',
    'recorder_recordings_started_total',
    'recorder_recordings_finished_total',
    'recorder_recordings_failed_total',
    'recorder_bytes_written_total',
    'recorder_start_to_first_keyframe_seconds',
    'recorder_stop_to_finalized_seconds',
    'recorder_starts_refused_total',
    'recorder_verifications_total',
    'recorder_load_units',
    'recorder_capacity_units',
    'recorder_cpu_percent',
    'recorder_verification_queue',
  ]) {
    assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  // the recordings of the tests above were counted
  const started = /^recorder_recordings_started_total\{[^}]*\} (\d+)/m.exec(metrics);
  assert.ok(Number(started?.[1]) >= 1, `started: ${started?.[1]}`);
  assert.match(metrics, /recorder_recordings_finished_total\{[^}]*status="done"[^}]*reason="rtp-timeout"[^}]*\} [1-9]/);
  assert.match(metrics, /^recorder_start_to_first_keyframe_seconds_count\{[^}]*\} [1-9]/m);
  assert.match(metrics, /^recorder_verifications_total\{[^}]*mode="full"[^}]*result="clean"[^}]*\} [1-9]/m, 'the verifications of the tests above');
});
