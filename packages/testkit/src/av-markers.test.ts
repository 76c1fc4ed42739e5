import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onsets, pairMarkers, parseMetadataPrint } from './av-markers.js';

test('parseMetadataPrint reads the frame time and the value of one key', () => {
  const text = [
    'frame:0    pts:0       pts_time:0',
    'lavfi.signalstats.YAVG=32.1',
    'frame:1    pts:3000    pts_time:0.033333',
    'lavfi.signalstats.YMIN=16',
    'lavfi.signalstats.YAVG=235.9',
    'frame:2    pts:-1024   pts_time:-0.021333',
    'lavfi.astats.Overall.Peak_level=-inf',
  ].join('\n');
  assert.deepEqual(parseMetadataPrint(text, 'lavfi.signalstats.YAVG', Number), [
    { t: 0, value: 32.1 },
    { t: 0.033333, value: 235.9 },
  ]);
  assert.deepEqual(
    parseMetadataPrint(text, 'lavfi.astats.Overall.Peak_level', (db) => (db === '-inf' ? 0 : 10 ** (Number(db) / 20))),
    [{ t: -0.021333, value: 0 }],
  );
});

test('onsets are rises after a quiet stretch; a marker under way at the start is not one', () => {
  const levels = [
    { t: 0.0, value: 1 }, // already loud when the stream starts
    { t: 0.1, value: 0 },
    { t: 1.0, value: 0.9 },
    { t: 1.05, value: 0.2 }, // a dip inside the same marker
    { t: 1.1, value: 0.9 },
    { t: 1.2, value: 0 },
    { t: 2.5, value: 0.5 },
  ];
  assert.deepEqual(onsets(levels, 0.25, 0.75), [1.0, 2.5]);
});

test('pairMarkers pairs each flash with the nearest beep and leaves lone flashes out', () => {
  assert.deepEqual(pairMarkers([1.0, 2.5, 4.0], [1.02, 2.46, 9], 0.75), [
    { video: 1.0, audio: 1.02, offsetMs: 20 },
    { video: 2.5, audio: 2.46, offsetMs: -40 },
  ]);
});
