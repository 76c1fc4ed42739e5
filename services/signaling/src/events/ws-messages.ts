import type { RawData } from 'ws';
import { z } from 'zod';
import { IdSchema, SessionEventSchema } from '@recstack/contracts';
import { RecordingViewSchema } from '../recordings/recording-view.js';

/** Messages signaling pushes on `GET /ws`, in the order the changes happened. */
export const WsServerMessageSchema = z.discriminatedUnion('type', [
  /** the connection is authorized; events follow */
  z.object({ type: z.literal('ready') }),
  /** a recording was created or changed: the whole object as stored, with the bucket's revision (increasing) */
  z.object({ type: z.literal('recording'), revision: z.number().int(), recording: RecordingViewSchema }),
  /** a recording was deleted */
  z.object({ type: z.literal('recording-deleted'), revision: z.number().int(), id: IdSchema }),
  z.object({ type: z.literal('session'), event: SessionEventSchema }),
]);
export type WsServerMessage = z.infer<typeof WsServerMessageSchema>;

/** What a client may send: only the token, when it could not pass it in a header (a browser). */
export const WsClientMessageSchema = z.object({ type: z.literal('auth'), token: z.string().min(1).max(4096) });
export type WsClientMessage = z.infer<typeof WsClientMessageSchema>;

/** Close codes in the private range (RFC 6455 §7.4.2), so a client can tell why it was closed. */
export const WS_CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tryAgainLater: 1013,
  unauthorized: 4401,
} as const;

/** A WebSocket message's text (ws hands over a Buffer, or fragments as Buffer[], or an ArrayBuffer). */
export function wsText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
