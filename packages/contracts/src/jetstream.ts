import { BUCKETS } from './buckets.js';

/**
 * JetStream streams and durable consumers read directly (not through a KV/object-store view). A key-value
 * bucket is a stream named `KV_<bucket>` whose subjects are `$KV.<bucket>.<key>`: every catalog write is a
 * message there, which is what makes the catalog its own outbox.
 */
export const STREAMS = {
  /** the catalog bucket's stream: one message per put or delete of a recording */
  recordings: `KV_${BUCKETS.recordings}`,
} as const;

export const STREAM_SUBJECTS = {
  /** every catalog write (subject `$KV.recordings_v1.<recordingId>`) */
  allRecordings: `$KV.${BUCKETS.recordings}.>`,
  recording: (recordingId: string) => `$KV.${BUCKETS.recordings}.${recordingId}`,
} as const;

export const CONSUMERS = {
  /**
   * Durable pull consumer on the catalog stream, shared by every signaling instance (each message goes to
   * one of them): delivers the webhook of each recording that ends. Versioned like subjects: a v2 with
   * another configuration runs beside it during an upgrade.
   */
  webhooks: 'webhooks_v1',
} as const;

/**
 * The JetStream API subjects signaling uses for the webhook outbox, for NATS permissions. Besides these it
 * needs to subscribe to its inbox (`_INBOX.>`) for the replies, as for every request.
 */
export const WEBHOOK_OUTBOX_API_SUBJECTS = {
  publish: [
    // create-or-update of the durable consumer (nats-server ≥ 2.9 puts the consumer name and filter in the subject)
    `$JS.API.CONSUMER.CREATE.${STREAMS.recordings}.${CONSUMERS.webhooks}.>`,
    // the same on nats-server < 2.9
    `$JS.API.CONSUMER.DURABLE.CREATE.${STREAMS.recordings}.${CONSUMERS.webhooks}`,
    `$JS.API.CONSUMER.INFO.${STREAMS.recordings}.${CONSUMERS.webhooks}`,
    // pull requests
    `$JS.API.CONSUMER.MSG.NEXT.${STREAMS.recordings}.${CONSUMERS.webhooks}`,
    // earlier revisions of a recording (is this write its ending?)
    `$JS.API.DIRECT.GET.${STREAMS.recordings}`,
    // ack, nak with delay, term (the reply subjects of the messages; servers that use the longer form with
    // domain and account hash, `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.…`, need `$JS.ACK.*.*.<stream>.<consumer>.>`)
    `$JS.ACK.${STREAMS.recordings}.${CONSUMERS.webhooks}.>`,
  ],
} as const;
