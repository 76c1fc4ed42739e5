import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sameDigest } from './object-upload.js';

test('object store digests compare by their bytes, whatever the base64 spelling', () => {
  const sha = createHash('sha256').update('recording').digest();
  const url = `SHA-256=${sha.toString('base64url')}`;
  const padded = `SHA-256=${sha.toString('base64url')}=`;
  const standard = `SHA-256=${sha.toString('base64')}`;
  assert.equal(sameDigest(url, padded), true);
  assert.equal(sameDigest(url, standard), true);
  const other = `SHA-256=${createHash('sha256').update('recordinG').digest('base64url')}`;
  assert.equal(sameDigest(url, other), false);
  assert.equal(sameDigest(url, 'SHA-256='), false);
  assert.equal(sameDigest(url, `MD5=${sha.toString('base64')}`), false);
});
