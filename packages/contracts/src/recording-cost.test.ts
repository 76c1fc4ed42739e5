import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecorderPongSchema, recordingCost, type RecordingCostTable } from './index.js';

const table: RecordingCostTable = {
  base: 60,
  video: { h264: 160, vp8: 170, vp9: 200, av1: 300 },
  referenceVideoKbps: 1500,
  audioCopy: 16,
  audioAac: 216,
  container: { mp4: 0, webm: 10, mkv: 10 },
};
const video = { kind: 'video', codec: 'h264' } as const;
const audio = { kind: 'audio', codec: 'opus' } as const;

test('a recording costs its base, its container, its video codec and its audio mode', () => {
  assert.equal(recordingCost(table, { tracks: [video, audio], container: 'mp4', audioCodec: 'aac' }), 60 + 160 + 216);
  assert.equal(recordingCost(table, { tracks: [video, audio], container: 'mp4', audioCodec: 'opus' }), 60 + 160 + 16);
  assert.equal(recordingCost(table, { tracks: [{ kind: 'video', codec: 'vp8' }, audio], container: 'webm', audioCodec: 'opus' }), 60 + 10 + 170 + 16);
  assert.equal(recordingCost(table, { tracks: [audio], container: 'mkv', audioCodec: 'aac' }), 60 + 10 + 216);
});

test('the video part scales with a known bitrate, down to a quarter of the reference', () => {
  const at = (videoKbps: number) => recordingCost(table, { tracks: [video], container: 'mp4', audioCodec: null, videoKbps });
  assert.equal(at(3000), 60 + 320);
  assert.equal(at(750), 60 + 80);
  assert.equal(at(10), 60 + 40);
});

test('a pong without the cost fields still parses; with them they are checked', () => {
  const pong = { recorderId: 'rcd_1', engine: 'gstreamer', host: '127.0.0.1', active: 1, capacity: 16 };
  assert.equal(RecorderPongSchema.parse(pong).capacityUnits, undefined);
  const full = { ...pong, capacityUnits: 17_000, loadUnits: 436, costs: table, cpuPercent: 42.5, maxCpuPercent: 85 };
  assert.deepEqual(RecorderPongSchema.parse(full).costs, table);
  assert.equal(RecorderPongSchema.parse({ ...full, cpuPercent: null }).cpuPercent, null);
  assert.equal(RecorderPongSchema.safeParse({ ...full, loadUnits: -1 }).success, false);
  assert.equal(RecorderPongSchema.safeParse({ ...full, costs: { ...table, base: 1.5 } }).success, false, 'whole units');
});
