import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { NatsConnection, ObjectInfo, ObjectStore } from 'nats';
import { RECORDING_FILES_STREAM } from '@recstack/catalog';
import { StorageError } from './storage-errors.js';

/** Bytes read from the file per pull; the object store cuts them into its own chunks (128 KiB). */
const READ_BYTES = 1024 * 1024;
/** After this many bytes handed to the client, wait until the server has taken them (bounds memory). */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

export interface UploadResult {
  size: number;
  /** `SHA-256=<base64url>` of the file as read */
  digest: string;
  chunks: number;
}

/**
 * Puts a file into the object store under `name` and verifies it: the object's info, read back from the
 * server, must have the file's size and the SHA-256 digest of the bytes read, and the stream must hold every
 * chunk the info announces. Throws a StorageError (with the reason) when any of that does not hold; an object
 * that failed verification is deleted again, so nothing half-true stays under the name.
 *
 * nats.js publishes chunks without waiting for their acknowledgements, so a file read faster than the
 * server stores it would pile up in memory: the reader waits for the server (a flush) every few MB.
 */
export async function uploadFile(nc: NatsConnection, store: ObjectStore, name: string, path: string): Promise<UploadResult> {
  const before = await stat(path);
  const full = await storeWontFit(nc, before.size);
  if (full) throw new StorageError(`the upload of ${name} does not fit: ${full}`);
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  let sent = 0;
  let sinceFlush = 0;
  let info: ObjectInfo;
  try {
    const source = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (sinceFlush >= FLUSH_EVERY_BYTES) {
          await nc.flush();
          sinceFlush = 0;
        }
        const buffer = Buffer.allocUnsafe(READ_BYTES);
        const { bytesRead } = await file.read(buffer, 0, READ_BYTES, sent);
        if (bytesRead === 0) {
          controller.close();
          return;
        }
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        sent += bytesRead;
        sinceFlush += bytesRead;
        controller.enqueue(chunk);
      },
    });
    info = await store.put({ name, description: 'recording file' }, source);
  } catch (cause) {
    throw new StorageError(`the upload of ${name} failed`, { cause });
  } finally {
    await file.close();
  }

  const after = await stat(path);
  const digest = `SHA-256=${hash.digest('base64url')}`;
  const problem = await verify(nc, store, name, {
    size: sent,
    digest,
    fileSize: after.size,
    changed: after.mtimeMs !== before.mtimeMs || after.size !== before.size,
    putNuid: info.nuid,
  });
  if (problem) {
    await store.delete(name).catch(() => undefined);
    throw new StorageError(`the upload of ${name} did not verify: ${problem}`);
  }
  return { size: sent, digest, chunks: info.chunks };
}

/** Per-object overhead besides the chunks: the metadata message and message headers, generously. */
const OBJECT_OVERHEAD_BYTES = 64 * 1024;

/**
 * Why a file of `size` bytes cannot go into the bucket now (its max_bytes minus what it holds), or undefined.
 * Asked before a put so that a full store is a clear refusal rather than a put that fails half-way; several
 * recorders may still race for the last room, which the server's max_bytes then settles.
 */
async function storeWontFit(nc: NatsConnection, size: number): Promise<string | undefined> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(RECORDING_FILES_STREAM);
  const max = info.config.max_bytes;
  if (max <= 0) return undefined;
  const left = max - info.state.bytes;
  const needed = size + Math.ceil(size / CHUNK_BYTES) * CHUNK_OVERHEAD_BYTES + OBJECT_OVERHEAD_BYTES;
  if (needed <= left) return undefined;
  return `the object store has ${Math.max(0, left)} of its ${max} bytes (STORAGE_MAX_BYTES) left, the file needs about ${needed}`;
}

/** The object store's chunk size (nats.js default) and the stored bytes per chunk besides its payload. */
const CHUNK_BYTES = 128 * 1024;
const CHUNK_OVERHEAD_BYTES = 128;

/**
 * nats.js's object store put publishes chunks without waiting and looks at their acknowledgements only at the
 * end, so a chunk the server refuses (bucket full: max_bytes, or JetStream out of storage) while the file is
 * still being read rejects a promise nobody observes yet. The put then fails as it should (and purges its
 * chunks); the early rejection is only noise, and must not end the process. True for exactly those errors.
 */
export function isRefusedChunkPublish(reason: unknown): boolean {
  if (!reason || typeof reason !== 'object') return false;
  const api = (reason as { api_error?: { err_code?: unknown } }).api_error;
  return api !== undefined && typeof api.err_code === 'number' && NO_ROOM_CODES.has(api.err_code);
}

/**
 * JetStream error codes (nats-server's errors.json) of a message refused for lack of room: 10077 the stream
 * store failed ("maximum bytes exceeded"), 10047 storage resources exceeded, 10023 insufficient resources.
 */
const NO_ROOM_CODES = new Set([10077, 10047, 10023]);

interface Expected {
  size: number;
  digest: string;
  fileSize: number;
  changed: boolean;
  putNuid: string;
}

/** What is wrong with the stored object, or undefined when it is exactly the file. */
async function verify(nc: NatsConnection, store: ObjectStore, name: string, expected: Expected): Promise<string | undefined> {
  if (expected.changed || expected.fileSize !== expected.size) return 'the file changed while it was read';
  const stored = await store.info(name);
  if (!stored || stored.deleted) return 'the object is not in the store';
  if (stored.nuid !== expected.putNuid) return 'the object was replaced by another upload';
  if (stored.size !== expected.size) return `the object has ${stored.size} bytes, the file ${expected.size}`;
  if (!sameDigest(stored.digest, expected.digest)) return `digest ${stored.digest} differs from the file's ${expected.digest}`;
  const chunks = await storedChunks(nc, `$O.${stored.bucket}.C.${stored.nuid}`);
  if (chunks !== stored.chunks) return `the stream holds ${chunks} of the object's ${stored.chunks} chunks`;
  return undefined;
}

/** How many messages the object store's stream holds on one chunk subject. */
async function storedChunks(nc: NatsConnection, subject: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(RECORDING_FILES_STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/**
 * Object store digests are `SHA-256=` + base64url, padded by some clients and not by others (older nats.js
 * wrote standard base64): compare the bytes, not the spelling.
 */
export function sameDigest(a: string, b: string): boolean {
  const bytes = (d: string) => {
    const match = /^SHA-256=(.+)$/i.exec(d.trim());
    if (!match?.[1]) return undefined;
    return Buffer.from(match[1].replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  };
  const x = bytes(a);
  const y = bytes(b);
  return x !== undefined && y !== undefined && x.length === 32 && x.equals(y);
}
