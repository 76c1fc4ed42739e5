import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaUrlSigner } from './media-urls.js';

const parse = (url: string) => {
  const u = new URL(url, 'http://x');
  return { path: u.pathname, expires: u.searchParams.get('expires') ?? undefined, sig: u.searchParams.get('sig') ?? undefined };
};

test('a signed media URL is valid for its recording until it expires, and only then', () => {
  let now = 1_800_000_000_000;
  const signer = new MediaUrlSigner('a-shared-secret-of-at-least-32-characters', 15 * 60_000, () => now);
  const url = parse(signer.sign('rec_1'));
  assert.equal(url.path, '/api/recordings/rec_1/media');
  assert.equal(Number(url.expires), (now + 15 * 60_000) / 1000);
  assert.equal(signer.verify('rec_1', url.expires, url.sig), true);
  assert.equal(signer.verify('rec_2', url.expires, url.sig), false, 'another recording');
  assert.equal(signer.verify('rec_1', String(Number(url.expires) + 3600), url.sig), false, 'a later expiry');
  assert.equal(signer.verify('rec_1', url.expires, `${url.sig}x`), false);
  assert.equal(signer.verify('rec_1', url.expires, undefined), false);
  assert.equal(signer.verify('rec_1', '1e99', url.sig), false);
  now += 15 * 60_000 + 1000;
  assert.equal(signer.verify('rec_1', url.expires, url.sig), false, 'expired');
});

test('instances sharing the secret accept each other\'s URLs; a random secret does not', () => {
  const secret = 'a-shared-secret-of-at-least-32-characters';
  const url = parse(new MediaUrlSigner(secret, 60_000).sign('rec_1'));
  assert.equal(new MediaUrlSigner(secret, 60_000).verify('rec_1', url.expires, url.sig), true);
  assert.equal(new MediaUrlSigner(undefined, 60_000).verify('rec_1', url.expires, url.sig), false);
});
