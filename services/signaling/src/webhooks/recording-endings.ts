import { isTerminal, RecordingSchema, STREAMS, STREAM_SUBJECTS, type Recording } from '@recstack/contracts';
import { ServiceError } from '@recstack/service-kit';
import type { NatsConnection } from 'nats';

/** A catalog write as the webhook consumer sees it. */
export type CatalogWrite = { kind: 'put'; recording: Recording } | { kind: 'delete' } | { kind: 'invalid'; reason: string };

/** Decodes a message of the catalog's stream: a put carries the recording; a delete or purge a header. */
export function decodeCatalogWrite(data: Uint8Array, operation: string | undefined): CatalogWrite {
  if (operation === 'DEL' || operation === 'PURGE') return { kind: 'delete' };
  try {
    const parsed = RecordingSchema.safeParse(JSON.parse(new TextDecoder().decode(data)));
    return parsed.success ? { kind: 'put', recording: parsed.data } : { kind: 'invalid', reason: parsed.error.message };
  } catch (err) {
    return { kind: 'invalid', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Reads the recording's writes older than `sequence` still kept in the bucket (its history: 5 revisions). */
export type EarlierWrites = (recordingId: string, sequence: number) => Promise<CatalogWrite[]>;

/**
 * Whether the write at `sequence` is the one that ended the recording: terminal, and no earlier write of it
 * was. Status never leaves done/failed, but the entry can still be written after it (the file moved to the
 * object store, a late recovery's details); those writes are terminal too and must not notify again. The
 * answer depends only on the stream's contents, so every signaling instance reaches the same one.
 */
export async function isEnding(write: CatalogWrite, sequence: number, earlier: EarlierWrites): Promise<boolean> {
  if (write.kind !== 'put' || !isTerminal(write.recording.status)) return false;
  const before = await earlier(write.recording.id, sequence);
  return !before.some((w) => w.kind === 'put' && isTerminal(w.recording.status));
}

/**
 * EarlierWrites from the stream itself, walking the recording's subject forward with JetStream direct gets
 * (`$JS.API.DIRECT.GET.<stream>`, on since nats-server 2.9 for key-value buckets).
 */
export function earlierWritesFromStream(nc: NatsConnection, timeoutMs = 5000): EarlierWrites {
  const subject = `$JS.API.DIRECT.GET.${STREAMS.recordings}`;
  return async (recordingId, sequence) => {
    const wanted = STREAM_SUBJECTS.recording(recordingId);
    const writes: CatalogWrite[] = [];
    let from = 1;
    while (from < sequence) {
      const reply = await nc.request(subject, JSON.stringify({ seq: from, next_by_subj: wanted }), { timeout: timeoutMs });
      const status = reply.headers?.code ?? 0;
      // 404: nothing of this subject at or after `from`
      if (status === 404) break;
      if (status >= 300) throw new DirectGetError(status, reply.headers?.description ?? '');
      const stored = Number(reply.headers?.get('Nats-Sequence'));
      if (!Number.isInteger(stored) || stored < from) throw new DirectGetError(status, 'reply without a valid Nats-Sequence');
      if (stored >= sequence) break;
      writes.push(decodeCatalogWrite(reply.data, reply.headers?.get('KV-Operation') || undefined));
      from = stored + 1;
    }
    return writes;
  };
}

export class DirectGetError extends ServiceError {
  constructor(status: number, description: string) {
    super('INTERNAL', `direct get on ${STREAMS.recordings} answered ${status} ${description}`.trim());
  }
}
