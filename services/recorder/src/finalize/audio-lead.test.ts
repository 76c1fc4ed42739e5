import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audioLeadArgs } from './audio-lead.js';

test('audioLeadArgs: a timestamp filter on the audio only, in the output audio time base; nothing for no lead', () => {
  assert.deepEqual(audioLeadArgs(1600, 'mp4'), ['-bsf:a', 'setts=ts=TS-1600']);
  assert.deepEqual(audioLeadArgs(1600, 'mkv'), ['-bsf:a', 'setts=ts=TS-33']);
  assert.deepEqual(audioLeadArgs(1600, 'webm'), ['-bsf:a', 'setts=ts=TS-33']);
  assert.deepEqual(audioLeadArgs(0, 'mp4'), []);
  assert.deepEqual(audioLeadArgs(-5, 'mp4'), []);
  assert.deepEqual(audioLeadArgs(1.5, 'mkv'), []);
});
