import { BUCKETS, RecordingSchema, canTransition, type Recording } from '@recstack/contracts';
import { ServiceError, decodeMessage, encodeJson, retryJetStreamWrite, type Logger } from '@recstack/service-kit';
import { KvWatchInclude, type KV, type KvEntry, type NatsConnection } from 'nats';
import { ensureReplicas } from './bucket-replicas.js';

export class RecordingExistsError extends ServiceError {
  constructor(id: string, options?: { cause?: unknown }) {
    super('CONFLICT', `recording ${id} already exists`, options);
  }
}

/**
 * The catalog's stream took no write in time: NATS unreachable, or (on a cluster that lost a server) its
 * JetStream leader still being elected. Not a conflict: the same request can succeed moments later.
 */
export class CatalogUnavailableError extends ServiceError {
  constructor(id: string, options?: { cause?: unknown }) {
    super('TIMEOUT', `the catalog could not store recording ${id} in time, try again`, options);
  }
}

export class CatalogConflictError extends ServiceError {
  constructor(id: string, options?: { cause?: unknown }) {
    super('CONFLICT', `recording ${id} is being changed concurrently, try again`, options);
  }
}

export type CatalogChange = { type: 'put'; recording: Recording; revision: number } | { type: 'delete'; id: string; revision: number };

export interface CatalogOptions {
  /** JetStream replicas for the bucket (3 on a NATS cluster) */
  replicas?: number;
}

const MAX_CAS_ATTEMPTS = 20;
/** JetStream's "wrong last sequence": the key has a value already */
const JS_WRONG_LAST_SEQUENCE = 10071;
/**
 * How long a create keeps trying while the stream takes no writes: longer than a JetStream leader election
 * after a cluster node is lost (nats-server's election timeouts are 4-9 s), well inside an HTTP client's patience.
 */
const CREATE_DEADLINE_MS = 15_000;
const CREATE_RETRY_MS = 500;

/**
 * The recordings catalog, kept in a JetStream key-value bucket so it outlives every service. Several
 * services write to it (each the state change it owns), so updates are compare-and-set on the entry's
 * revision, and status only moves forward.
 */
export class RecordingCatalog {
  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  static async open(nc: NatsConnection, logger: Logger, options: CatalogOptions = {}): Promise<RecordingCatalog> {
    const replicas = options.replicas ?? 1;
    const kv = await nc.jetstream().views.kv(BUCKETS.recordings, { history: 5, replicas });
    const log = logger.child({ component: 'catalog' });
    if (replicas > 1) await ensureReplicas(nc, `KV_${BUCKETS.recordings}`, replicas, log);
    return new RecordingCatalog(kv, log);
  }

  /**
   * Stores a new entry. A key that exists is a RecordingExistsError; any other failure (no stream leader, a
   * timeout) is retried until CREATE_DEADLINE_MS, then a CatalogUnavailableError.
   */
  async create(recording: Recording): Promise<Recording> {
    const valid = RecordingSchema.parse(recording);
    try {
      await retryJetStreamWrite(() => this.kv.create(valid.id, encodeJson(valid)), {
        deadlineMs: CREATE_DEADLINE_MS,
        pauseMs: CREATE_RETRY_MS,
        isFinal: isWrongLastSequence,
        onRetry: (err, attempt) => this.logger.warn({ err, recordingId: valid.id, attempt }, 'catalog create failed, retrying'),
      });
      return valid;
    } catch (cause) {
      if (!isWrongLastSequence(cause)) throw new CatalogUnavailableError(valid.id, { cause });
      // an earlier attempt that timed out may have been stored after all: then the entry is this one
      if (await this.isStored(valid)) return valid;
      throw new RecordingExistsError(valid.id, { cause });
    }
  }

  private async isStored(recording: Recording): Promise<boolean> {
    const stored = await this.get(recording.id).catch(() => undefined);
    return stored !== undefined && stored.sessionId === recording.sessionId && stored.createdAt === recording.createdAt;
  }

  async get(id: string): Promise<Recording | undefined> {
    const entry = await this.kv.get(id);
    return entry ? this.decode(entry) : undefined;
  }

  /** Every recording, newest first. */
  async list(): Promise<Recording[]> {
    const ids: string[] = [];
    for await (const key of await this.kv.keys()) ids.push(key);
    const recordings = await Promise.all(ids.map((id) => this.get(id)));
    return recordings.filter((r): r is Recording => r !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Applies a change with compare-and-set, retrying on concurrent writes. Returns the stored recording,
   * or undefined when it does not exist. A change that would move the status backwards is not written.
   */
  async update(id: string, change: (current: Recording) => Recording): Promise<Recording | undefined> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(id);
      const current = entry ? this.decode(entry) : undefined;
      if (!entry || !current) return undefined;
      const next = change(current);
      if (next === current) return current;
      if (!canTransition(current.status, next.status)) {
        this.logger.warn({ recordingId: id, from: current.status, to: next.status }, 'status change refused');
        return current;
      }
      const valid = RecordingSchema.parse(next);
      try {
        await this.kv.update(id, encodeJson(valid), entry.revision);
        return valid;
      } catch (err) {
        // wrong last sequence: someone else wrote first; read again and reapply
        this.logger.debug({ err, recordingId: id, attempt }, 'catalog write raced, retrying');
      }
    }
    throw new CatalogConflictError(id);
  }

  async remove(id: string): Promise<boolean> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT') return false;
    await this.kv.delete(id);
    return true;
  }

  /**
   * Streams changes in order: first the current contents when `includeCurrent` is set, then every
   * change. Returns a function that stops the watch.
   */
  async watch(onChange: (change: CatalogChange) => void, options: { includeCurrent?: boolean } = {}): Promise<() => void> {
    const iterator = await this.kv.watch({ include: options.includeCurrent ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const entry of iterator) {
        if (entry.operation === 'PUT') {
          const recording = this.decode(entry);
          if (recording) onChange({ type: 'put', recording, revision: entry.revision });
        } else {
          onChange({ type: 'delete', id: entry.key, revision: entry.revision });
        }
      }
    })().catch((err: unknown) => this.logger.error({ err }, 'catalog watch ended'));
    return () => iterator.stop();
  }

  private decode(entry: KvEntry): Recording | undefined {
    if (entry.operation !== 'PUT' || entry.length === 0) return undefined;
    try {
      return decodeMessage(RecordingSchema, entry.value);
    } catch (err) {
      this.logger.error({ err, key: entry.key }, 'catalog entry is invalid');
      return undefined;
    }
  }
}

function isWrongLastSequence(err: unknown): boolean {
  return (err as { api_error?: { err_code?: unknown } } | undefined)?.api_error?.err_code === JS_WRONG_LAST_SEQUENCE;
}
