import type { NatsConnection } from 'nats';
import { rpc, type RecorderPong, type RecordingReport, type RecorderStopRequest } from '@recstack/contracts';
import { gather } from '@recstack/service-kit';
import { callBackend } from './call.js';
import type { BackendTimeouts, CallObserver } from './media-client.js';

/**
 * Signaling's side of the recorder's NATS contract. Signaling only talks to a recorder directly when the
 * media instance that started a recording is gone and the recording still has to be finalized.
 */
export class RecorderClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeouts: BackendTimeouts,
    private readonly observe?: CallObserver,
  ) {}

  stop(recorderId: string, req: RecorderStopRequest): Promise<RecordingReport> {
    return callBackend(this.nc, rpc.recorder.stop, req, {
      id: recorderId,
      timeoutMs: this.timeouts.stopMs,
      ...(this.observe ? { observe: this.observe } : {}),
    });
  }

  ping(maxWaitMs: number): Promise<RecorderPong[]> {
    return gather(this.nc, rpc.recorder.ping, {}, maxWaitMs);
  }
}
