import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording, RecordingStatus } from '@recstack/contracts';
import { decodeCatalogWrite, isEnding, type CatalogWrite } from './recording-endings.js';

const at = '2026-12-01T12:00:00.000Z';
function recording(status: RecordingStatus): Recording {
  return {
    id: 'rec_1',
    sessionId: 'ses_1',
    status,
    createdAt: at,
    startedAt: at,
    stoppedAt: null,
    updatedAt: at,
    durationMs: null,
    sizeBytes: null,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [],
    fileName: 'rec_1.mp4',
    storage: 'local',
    mediaId: null,
    recorderId: null,
    firstKeyframeMs: null,
    stopReason: null,
  };
}
const put = (status: RecordingStatus): CatalogWrite => ({ kind: 'put', recording: recording(status) });
const encode = (r: Recording) => new TextEncoder().encode(JSON.stringify(r));

test('a catalog message decodes as a put, a delete, or an unreadable write', () => {
  assert.deepEqual(decodeCatalogWrite(encode(recording('done')), undefined), put('done'));
  assert.deepEqual(decodeCatalogWrite(new Uint8Array(), 'DEL'), { kind: 'delete' });
  assert.deepEqual(decodeCatalogWrite(new Uint8Array(), 'PURGE'), { kind: 'delete' });
  assert.equal(decodeCatalogWrite(new TextEncoder().encode('{"id":"rec_1"}'), undefined).kind, 'invalid');
  assert.equal(decodeCatalogWrite(new TextEncoder().encode('not json'), undefined).kind, 'invalid');
});

test('the first terminal write of a recording is its ending; terminal writes after it are not', async () => {
  const history = new Map<number, CatalogWrite>([
    [3, put('starting')],
    [7, put('recording')],
    [9, put('stopping')],
    [12, put('done')],
    [15, put('done')],
  ]);
  const earlier = async (_id: string, seq: number) => [...history].filter(([s]) => s < seq).map(([, w]) => w);
  const answers = await Promise.all([...history].map(([seq, w]) => isEnding(w, seq, earlier)));
  assert.deepEqual(answers, [false, false, false, true, false]);
  assert.equal(await isEnding({ kind: 'delete' }, 20, earlier), false);
  assert.equal(await isEnding(put('failed'), 1, async () => []), true, 'an entry created failed (no earlier write) ends there');
  assert.equal(await isEnding(put('failed'), 30, async () => [put('starting'), { kind: 'delete' }]), true);
});
