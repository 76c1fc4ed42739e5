import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSdpOffer } from './sdp-check.js';
import { TEST_OFFER } from '../testing/harness.js';

test('a browser-like offer passes the shape check', () => {
  assert.deepEqual(checkSdpOffer(TEST_OFFER), { ok: true });
  assert.deepEqual(checkSdpOffer(TEST_OFFER.replace(/\r\n/g, '\n')), { ok: true }, 'bare LF line ends are tolerated');
});

test('what is obviously not an offer is refused with a reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['{"type":"offer"}', /must start with "v=0"/],
    ['v=0\r\nhello\r\n', /line 2/],
    ['v=0\r\ns=-\r\nm=video 9 RTP/AVP 96\r\n', /origin/],
    ['v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n', /no media/],
    ['v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n', /no audio or video/],
  ];
  for (const [sdp, message] of cases) {
    const result = checkSdpOffer(sdp);
    assert.equal(result.ok, false, sdp);
    assert.match(result.ok ? '' : result.message, message);
  }
});
