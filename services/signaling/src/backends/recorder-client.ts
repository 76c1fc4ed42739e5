import type { NatsConnection } from 'nats';
import { RecorderPongSchema, RecordingReportSchema, subjects, type RecorderPong, type RecordingReport, type RecorderStopRequest } from '@recstack/contracts';
import { gather } from '@recstack/service-kit';
import { call, type CallOptions } from './call.js';
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
    const options: CallOptions = {
      service: 'recorder',
      unavailable: 'RECORDER_UNAVAILABLE',
      timeoutMs: this.timeouts.stopMs,
      subjectKind: 'recorder.stop',
      ...(this.observe ? { observe: this.observe } : {}),
    };
    return call(this.nc, subjects.recorder.stop(recorderId), req, RecordingReportSchema, options);
  }

  ping(maxWaitMs: number): Promise<RecorderPong[]> {
    return gather(this.nc, subjects.recorder.ping, {}, RecorderPongSchema, maxWaitMs);
  }
}
