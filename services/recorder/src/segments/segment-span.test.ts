import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinedDuration, parseSegmentSpan } from './segment-span.js';

// ffprobe's lines for the last packets of an FFmpeg-engine WebM whose audio outlasts its video: the container
// duration (3.813 s) is the last Opus packet's start
const ffmpegWebm = [
  'packet,0.000000,0.000000,0.033000',
  'packet,0.000000,0.000000,0.020000',
  'packet,0.014000,0.014000,0.020000',
  'packet,3.533000,3.533000,0.033000',
  'packet,3.793000,3.793000,0.020000',
  'packet,3.813000,3.813000,0.020000',
  'format,0.000000',
].join('\n');

test('a segment lasts until its last packet ended, past a container duration that left that packet out', () => {
  const span = parseSegmentSpan(ffmpegWebm);
  assert.deepEqual(span, { startUs: 0, firstUs: 0, endUs: 3_833_000 });
});

test('AAC priming before the start time (GStreamer MP4): the first packets are earlier than the start', () => {
  const span = parseSegmentSpan(
    [
      'packet,-0.033333,-0.033333,0.014833,side_data,',
      '',
      'packet,-0.018500,-0.018500,0.021333',
      'packet,0.000000,0.000000,0.033333',
      'packet,3.405333,3.405333,0.021333',
      'packet,3.400000,3.400000,0.033333',
      'format,0.000000',
    ].join('\n'),
  );
  assert.deepEqual(span, { startUs: 0, firstUs: -33_333, endUs: 3_433_333 });
});

test('a packet without a duration still takes a millisecond, so the next segment cannot share its timestamp', () => {
  const span = parseSegmentSpan(['packet,0.055000,0.055000,N/A', 'packet,3.688000,3.688000,N/A', 'format,0.055000'].join('\n'));
  assert.deepEqual(span, { startUs: 55_000, firstUs: 55_000, endUs: 3_689_000 });
});

test('nothing readable is no span', () => {
  assert.equal(parseSegmentSpan('format,0.000000\n'), undefined);
  assert.equal(parseSegmentSpan(''), undefined);
});

test('the next segment starts after every packet of this one ended, and after its own early packets', () => {
  const current = { startUs: 55_000, firstUs: 55_000, endUs: 3_709_000 };
  assert.equal(joinedDuration(current, { startUs: 0, firstUs: 0, endUs: 1 }), 3_654_000);
  // its priming (33 ms before its start) would land on this segment's last audio packets
  assert.equal(joinedDuration(current, { startUs: 0, firstUs: -33_333, endUs: 1 }), 3_687_333);
  assert.equal(joinedDuration(current, undefined), 3_654_000);
});
