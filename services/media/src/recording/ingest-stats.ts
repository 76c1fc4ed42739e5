import type { IngestStats } from '@recstack/contracts';
import type { TrackReceiveStats } from '../webrtc/publisher-connection.js';

/** The counters of a recording's tracks that only grow while the session lives. */
export type IngestCounters = Pick<TrackReceiveStats, 'kind' | 'packetsReceived' | 'packetsLost' | 'packetsRetransmitted' | 'plisSent'>;

/**
 * What arrived while the recording ran: the session's counters at its end minus those when forwarding began
 * (a session may have published for a while before Record), summed over its tracks. Keyframe requests are
 * Medooze's PLI count, or the requests media made (start requester and gap watch) when Medooze counted fewer
 * (a PLI can be sent before its counter is read). A counter that went backwards (a track that restarted)
 * counts from 0.
 */
export function ingestDelta(start: readonly IngestCounters[] | undefined, end: readonly IngestCounters[], keyframeRequests: number): IngestStats {
  const before = new Map((start ?? []).map((t) => [t.kind, t]));
  const sum: IngestStats = { packetsReceived: 0, packetsLost: 0, packetsRetransmitted: 0, keyframesRequested: 0 };
  let plis = 0;
  for (const t of end) {
    const b = before.get(t.kind);
    const delta = (now: number, then: number | undefined) => (then !== undefined && now >= then ? now - then : now);
    sum.packetsReceived += delta(t.packetsReceived, b?.packetsReceived);
    sum.packetsLost += delta(t.packetsLost, b?.packetsLost);
    sum.packetsRetransmitted += delta(t.packetsRetransmitted, b?.packetsRetransmitted);
    plis += delta(t.plisSent, b?.plisSent);
  }
  sum.keyframesRequested = Math.max(plis, keyframeRequests);
  return sum;
}
