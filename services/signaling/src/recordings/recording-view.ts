import { z } from 'zod';
import { RecordingSchema, type Recording } from '@recstack/contracts';
import type { MediaUrlSigner } from './media-urls.js';

/**
 * A recording as the API and the live events show it: the catalog entry plus `mediaUrl`, a short-lived
 * signed path of its file. The URL is made per answer and never stored: the catalog stays free of it.
 */
export const RecordingViewSchema = RecordingSchema.extend({
  mediaUrl: z.string().describe('GET this path for the file (Range supported) without a token; valid for MEDIA_URL_TTL_SECONDS (15 min by default). Add &download=1 for an attachment.'),
});
export type RecordingView = z.infer<typeof RecordingViewSchema>;

export function recordingView(recording: Recording, signer: MediaUrlSigner): RecordingView {
  return { ...recording, mediaUrl: signer.sign(recording.id) };
}
