import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GstOutputParser } from './gst-output.js';

// lines as gst-launch-1.0 1.22 prints them for our pipelines
const playing = (name: string, n = 200) =>
  `Got message #${n} from element "${name}" (state-changed): GstMessageStateChanged, old-state=(GstState)paused, new-state=(GstState)playing, pending-state=(GstState)void-pending;`;
// checksumsink on the keyframe tap: "<pts> <md5>"
const keyframe = '0:00:01.233333333 6f1ed002ab5595859014ebf0951522d9';

test('listening once every udpsrc is playing, not before', () => {
  const p = new GstOutputParser(['rtp_video', 'rtcp_video', 'rtp_audio', 'rtcp_audio']);
  assert.deepEqual(p.parse('Setting pipeline to PLAYING ...'), []);
  assert.deepEqual(p.parse(playing('rtp_video')), []);
  assert.deepEqual(p.parse(playing('rtcp_video')), []);
  assert.deepEqual(p.parse(playing('rtp_audio')), []);
  assert.deepEqual(p.parse(playing('mux')), []);
  assert.deepEqual(p.parse(playing('rtcp_audio')), [{ type: 'listening' }]);
  // the pipeline's own PLAYING comes later and says nothing new
  assert.deepEqual(p.parse(playing('pipeline0')), []);
  assert.deepEqual(p.parse(playing('rtp_video', 999)), []);
});

test('keyframes from the tap lines; bus messages and other output are not keyframes', () => {
  const p = new GstOutputParser(['rtp_video']);
  assert.deepEqual(p.parse(keyframe), [{ type: 'keyframe', track: 'video' }]);
  assert.deepEqual(p.parse('1000:00:02.000000000 77b687f00661c6a8db160d60f64f87c0'), [{ type: 'keyframe', track: 'video' }]);
  assert.deepEqual(p.parse('99:99:99.999999999 77b687f00661c6a8db160d60f64f87c0'), [{ type: 'keyframe', track: 'video' }]);
  assert.deepEqual(p.parse(`${keyframe} trailing`), []);
  assert.deepEqual(p.parse('0:00:01.2 6f1ed002ab5595859014ebf0951522d9'), []);
  assert.deepEqual(p.parse('Got message #56 from element "keyframes_video" (tag): GstMessageTag, taglist=(taglist)"taglist";'), []);
  assert.deepEqual(p.parse('Got message #27 from element "keyframes_video" (latency): no message details'), []);
});

test('a keyframe line printed between the two halves of a bus message is seen, and the message is put back together', () => {
  const p = new GstOutputParser(['rtp_video', 'rtp_audio']);
  assert.deepEqual(p.parse(playing('rtp_audio')), []);
  // gst-launch wrote "Got message #201 ... (state-changed): ", checksumsink its line, then the message's rest
  assert.deepEqual(p.parse(`Got message #201 from element "rtp_video" (state-changed): ${keyframe}`), [{ type: 'keyframe', track: 'video' }]);
  assert.deepEqual(
    p.parse('GstMessageStateChanged, old-state=(GstState)paused, new-state=(GstState)playing, pending-state=(GstState)void-pending;'),
    [{ type: 'listening' }],
    'the rejoined message still counts',
  );
  // a message whose text merely ends like a checksum is not a keyframe when the rest does not match exactly
  assert.deepEqual(p.parse('Got message #202 from element "mux" (element): 0:00:01.2 abc'), []);
});

test('udpsrc timeouts name the silent track; RTCP sockets do not count', () => {
  const p = new GstOutputParser(['rtp_video']);
  assert.deepEqual(p.parse('Got message #530 from element "rtp_video" (element): GstUDPSrcTimeout, timeout=(guint64)10000000000;'), [
    { type: 'rtp-idle', track: 'video' },
  ]);
  assert.deepEqual(p.parse('Got message #531 from element "rtp_audio" (element): GstUDPSrcTimeout, timeout=(guint64)10000000000;'), [
    { type: 'rtp-idle', track: 'audio' },
  ]);
  assert.deepEqual(p.parse('Got message #532 from element "rtcp_audio" (element): GstUDPSrcTimeout, timeout=(guint64)10000000000;'), []);
});

test('a bind failure names the port; other errors carry their message; EOS is seen', () => {
  const p = new GstOutputParser(['rtp_video']);
  assert.deepEqual(p.parse('ERROR: from element /GstPipeline:pipeline0/GstUDPSrc:rtcp_video: Could not get/set settings from/on resource.'), [
    { type: 'error', message: 'rtcp_video: Could not get/set settings from/on resource.' },
  ]);
  assert.deepEqual(p.parse('bind failed: Error binding to address 127.0.0.1:41001: Address already in use'), [{ type: 'port-in-use', port: 41001 }]);
  assert.deepEqual(p.parse("ERROR: pipeline doesn't want to preroll."), [{ type: 'error', message: "pipeline doesn't want to preroll." }]);
  assert.deepEqual(p.parse('WARNING: erroneous pipeline: no element "rtpav1depay"'), [
    { type: 'error', message: 'erroneous pipeline: no element "rtpav1depay"' },
  ]);
  assert.deepEqual(p.parse('Got EOS from element "pipeline0".'), [{ type: 'eos' }]);
  assert.deepEqual(p.parse('Redistribute latency...'), []);
});
