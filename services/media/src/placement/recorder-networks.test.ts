import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '@recstack/service-kit';
import { DEFAULT_RECORDER_NETWORKS, RecorderAddressRefusedError, RecorderNetworks, parseCidr } from './recorder-networks.js';

const defaults = RecorderNetworks.parse(DEFAULT_RECORDER_NETWORKS.join(','));

test('the default networks: loopback and the private ranges, nothing public', () => {
  for (const inside of [
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.20',
    '::1',
    'fc00::1',
    'fd12:3456::7',
    '::ffff:10.1.2.3',
  ]) {
    assert.equal(defaults.allows(inside), true, inside);
  }
  for (const outside of [
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.0',
    '192.169.0.1',
    '11.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '2001:4860:4860::8888',
    'fe80::1',
    '::',
    '::ffff:8.8.8.8',
    '169.254.169.254',
  ]) {
    assert.equal(defaults.allows(outside), false, outside);
  }
});

test('a name or garbage is never allowed (only literal, resolved addresses are checked)', () => {
  for (const address of ['localhost', '', '10.0.0.1/8', 'recorder-0']) assert.equal(defaults.allows(address), false, address);
});

test('networks parse with and without a prefix; bad ones are refused with the value named', () => {
  assert.deepEqual(parseCidr(' 10.1.0.0/16 '), { network: '10.1.0.0', prefix: 16, family: 'ipv4' });
  assert.deepEqual(parseCidr('203.0.113.7'), { network: '203.0.113.7', prefix: 32, family: 'ipv4' });
  assert.deepEqual(parseCidr('2001:db8::/32'), { network: '2001:db8::', prefix: 32, family: 'ipv6' });
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', 'example.com/8', '10.0.0.0/8/1', '10.0.0.0/', '10.0.0.0/x']) {
    assert.throws(
      () => parseCidr(bad),
      (err: Error) => err instanceof TypeError && err.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
  const one = RecorderNetworks.parse('203.0.113.7, 2001:db8::/32');
  assert.equal(one.allows('203.0.113.7'), true);
  assert.equal(one.allows('203.0.113.8'), false);
  assert.equal(one.allows('2001:db8:1::5'), true);
  assert.equal(one.allows('127.0.0.1'), false);
});

test('a refused address throws RecorderAddressRefusedError (RECORDER_FAILED) and is logged', () => {
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const logger = { warn: (fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg }) } as unknown as Logger;
  assert.throws(
    () => defaults.assertAllowed('8.8.8.8', 'rcd_x', logger),
    (err: unknown) => err instanceof RecorderAddressRefusedError && err.code === 'RECORDER_FAILED' && err.message.includes('8.8.8.8'),
  );
  defaults.assertAllowed('10.0.0.5', 'rcd_x', logger);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.msg, 'recorder address refused');
  assert.equal(lines[0]?.fields.address, '8.8.8.8');
  assert.equal(lines[0]?.fields.recorderId, 'rcd_x');
});
