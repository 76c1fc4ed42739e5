import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestDelta, type IngestCounters } from './ingest-stats.js';

const video = (packetsReceived: number, packetsLost: number, packetsRetransmitted: number, plisSent: number): IngestCounters => ({
  kind: 'video',
  packetsReceived,
  packetsLost,
  packetsRetransmitted,
  plisSent,
});
const audio = (packetsReceived: number, packetsLost: number): IngestCounters => ({
  kind: 'audio',
  packetsReceived,
  packetsLost,
  packetsRetransmitted: 0,
  plisSent: 0,
});

test('the recording counts what arrived after forwarding began, summed over its tracks', () => {
  const stats = ingestDelta([video(1000, 3, 5, 1), audio(500, 1)], [video(4000, 10, 25, 4), audio(1500, 2)], 2);
  assert.deepEqual(stats, { packetsReceived: 4000, packetsLost: 8, packetsRetransmitted: 20, keyframesRequested: 3 });
});

test('keyframes requested: our own requests when Medooze counted fewer PLIs', () => {
  assert.equal(ingestDelta([video(0, 0, 0, 0)], [video(10, 0, 0, 1)], 3).keyframesRequested, 3);
});

test('no baseline (it could not be read) or a counter that went backwards counts from zero', () => {
  assert.deepEqual(ingestDelta(undefined, [video(40, 2, 1, 1)], 0), { packetsReceived: 40, packetsLost: 2, packetsRetransmitted: 1, keyframesRequested: 1 });
  assert.equal(ingestDelta([video(100, 0, 0, 0)], [video(30, 0, 0, 0)], 0).packetsReceived, 30);
  assert.deepEqual(ingestDelta([video(1, 1, 1, 1)], [], 0), { packetsReceived: 0, packetsLost: 0, packetsRetransmitted: 0, keyframesRequested: 0 });
});
