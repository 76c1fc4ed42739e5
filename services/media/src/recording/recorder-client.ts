import type { NatsConnection } from 'nats';
import { rpc, type RecorderListening, type RecorderPong, type RecorderStartRequest, type RecorderStopRequest, type RecordingReport } from '@recstack/contracts';
import { TimeoutError, UnavailableError, call, errorCodeOf, gather } from '@recstack/service-kit';
import { RecorderUnavailableError } from '../errors.js';
import type { RecorderPlacement } from '../placement/recorder-placement.js';

/** Media's side of the recorder's NATS contract (`rpc.recorder` in contracts). */
export class RecorderClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly startTimeoutMs: number,
    private readonly placement?: RecorderPlacement,
  ) {}

  /**
   * Asks a recorder to listen on the given ports: the least loaded one media knows of, or any (queue
   * group) when it knows of none or that one is gone. Resolves once its sockets are bound and its pipeline
   * plays. Error replies keep the recorder's code (PORT_IN_USE, AT_CAPACITY, INSUFFICIENT_STORAGE, ...).
   * `exclude` is never chosen; `strict: false` still takes its answer when it comes through the queue group.
   */
  async start(req: RecorderStartRequest, exclude?: string, strict = true): Promise<RecorderListening> {
    const target = this.placement?.reserve(exclude);
    if (target !== undefined) {
      try {
        return await call(this.nc, rpc.recorder.startOn, req, { id: target, timeoutMs: this.startTimeoutMs });
      } catch (err) {
        this.placement?.release(target);
        if (!(err instanceof UnavailableError)) {
          const code = errorCodeOf(err);
          if (code === 'AT_CAPACITY' || code === 'INSUFFICIENT_STORAGE') this.placement?.full(target);
          throw err;
        }
        this.placement?.forget(target);
      }
    }
    let listening: RecorderListening;
    try {
      listening = await call(this.nc, rpc.recorder.start, req, { timeoutMs: this.startTimeoutMs });
    } catch (err) {
      if (err instanceof UnavailableError) throw new RecorderUnavailableError('no recorder is running', { cause: err });
      throw err;
    }
    if (listening.recorderId === exclude && strict) {
      // a handover must leave that recorder, which answered a start for a recording it already holds (the
      // same pipeline, not a new one: nothing to undo); a draining recorder stops taking starts before it
      // announces the drain, so only an older one gets here
      throw new RecorderUnavailableError(`only recorder ${listening.recorderId}, the one being left, took the recording`);
    }
    this.placement?.placed(listening.recorderId);
    return listening;
  }

  /** Asks the recorder that holds the recording to finalize it; resolves with its report. */
  async stop(recorderId: string, req: RecorderStopRequest, timeoutMs: number): Promise<RecordingReport> {
    try {
      return await call(this.nc, rpc.recorder.stop, req, { id: recorderId, timeoutMs });
    } catch (err) {
      if (err instanceof UnavailableError) throw new RecorderUnavailableError(`recorder ${recorderId} is gone`, { cause: err });
      throw err;
    }
  }

  /**
   * Whether one recorder answers on its own subject: false at once when it has no subscription left (its
   * connection closed: NATS answers "no responders"), or when it does not answer within `timeoutMs`.
   */
  async answers(recorderId: string, timeoutMs: number): Promise<boolean> {
    return (await this.pong(recorderId, timeoutMs)) !== undefined;
  }

  /** One recorder's pong on its own subject (what it holds), or undefined when it does not answer (see answers). */
  async pong(recorderId: string, timeoutMs: number): Promise<RecorderPong | undefined> {
    try {
      return await call(this.nc, rpc.recorder.pingOne, {}, { id: recorderId, timeoutMs });
    } catch (err) {
      if (err instanceof UnavailableError || err instanceof TimeoutError) return undefined;
      throw err;
    }
  }

  /** Ids of the recorders that answer a ping within `maxWaitMs`. */
  async alive(maxWaitMs: number): Promise<Set<string>> {
    const pongs = await gather(this.nc, rpc.recorder.ping, {}, maxWaitMs);
    return new Set(pongs.map((p) => p.recorderId));
  }
}
