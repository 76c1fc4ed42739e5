import type { Impairment, PublisherStats, RelayStats, ReplayMediaSpec } from '@recstack/testkit';

/** Messages between the harness and its replay worker processes (Node IPC, structured clone). */
export type ToWorker =
  | {
      type: 'init';
      workerIndex: number;
      cacheDir: string;
      spec: ReplayMediaSpec;
      whipUrl: string;
      token: string | undefined;
      impairment: Impairment | undefined;
      honourPli: boolean;
      loopbackOnly: boolean;
      pacingKbps: number;
    }
  /**
   * `id` is the run's publisher number (it also sets where the publisher starts in the loop and its keyframe
   * phase); `alignEpochMs` (Date.now based) makes every publisher follow one clock
   */
  | { type: 'publish'; id: number; alignEpochMs: number | undefined }
  | { type: 'snapshot'; id: number; requestId: number }
  | { type: 'unpublish'; id: number }
  | { type: 'relay-stats'; requestId: number }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'published'; id: number; sessionId: string; location: string; connectMs: number }
  | { type: 'publish-failed'; id: number; status: number | undefined; code: string; message: string; retryAfterSeconds: number | undefined }
  | { type: 'snapshot'; requestId: number; stats: PublisherStats | undefined }
  | { type: 'unpublished'; id: number; stats: PublisherStats | undefined }
  | { type: 'relay-stats'; requestId: number; upstream: RelayStats[]; downstream: RelayStats[] };
