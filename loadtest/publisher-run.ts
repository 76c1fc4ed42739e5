import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { Recording } from '@recstack/contracts';
import { publishWhip, type StackClient } from '@recstack/testkit';
import { fileProblems } from './file-verdict.js';
import type { LoadConfig } from './load-config.js';

/** What happened to one publisher's recording, with the times a user would notice. */
export interface PublisherResult {
  index: number;
  recordingId: string | undefined;
  recorderId: string | undefined;
  /** the server's own figure: start request → first keyframe written (`firstKeyframeMs`) */
  firstKeyframeMs: number | undefined;
  /** POST …/stop → its answer, which comes once the file is finalized and checked */
  stopMs: number | undefined;
  durationMs: number | undefined;
  sizeBytes: number | undefined;
  /** when this publisher's recording was seen `recording`, and when its stop was asked (ms, performance.now) */
  recordingSince: number | undefined;
  stopAskedAt: number | undefined;
  /** empty when the recording ended `done` and its downloaded file passed every check */
  problems: string[];
}

/**
 * One publisher's whole recording, as a user makes it: publish the fake camera over WHIP, start a
 * recording, keep it running `seconds`, stop it, download the file and check it like the end-to-end tests.
 */
export async function runPublisher(index: number, context: BrowserContext, client: StackClient, config: LoadConfig): Promise<PublisherResult> {
  const result: PublisherResult = {
    index, recordingId: undefined, recorderId: undefined, firstKeyframeMs: undefined, stopMs: undefined,
    durationMs: undefined, sizeBytes: undefined, recordingSince: undefined, stopAskedAt: undefined, problems: [],
  };
  const page = await context.newPage();
  const dir = await mkdtemp(join(tmpdir(), 'recstack-load-'));
  try {
    // the page must be on the server's origin for its fetch('/whip')
    await page.goto(`${client.baseUrl}/healthz`);
    const session = await publishWhip(page, { videoCodec: config.codec, width: config.width, height: config.height, ...(config.token ? { token: config.token } : {}) });
    const started = await client.start(session.sessionId);
    result.recordingId = started.id;
    const live = await client.waitForStatus(started.id, ['recording', 'done', 'failed'], 30_000);
    if (live.status !== 'recording') return fail(result, live);
    result.recordingSince = performance.now();
    result.firstKeyframeMs = live.firstKeyframeMs ?? undefined;
    await new Promise((r) => setTimeout(r, config.seconds * 1000));
    result.stopAskedAt = performance.now();
    const done = await client.stop(started.id);
    result.stopMs = performance.now() - result.stopAskedAt;
    result.recorderId = done.recorderId ?? undefined;
    result.durationMs = done.durationMs ?? undefined;
    result.sizeBytes = done.sizeBytes ?? undefined;
    if (done.status !== 'done') return fail(result, done);
    const path = await client.download(done, dir);
    const heldSec = (result.stopAskedAt - result.recordingSince) / 1000;
    result.problems.push(...(await fileProblems(path, {
      video: done.tracks.find((t) => t.kind === 'video')?.codec,
      audio: done.tracks.find((t) => t.kind === 'audio')?.codec,
      // `recording` is seen up to one poll after the first keyframe: the file may be that much longer
      durationSec: heldSec + 0.5,
      toleranceSec: 1.5,
    })));
  } catch (err) {
    result.problems.push((err as Error).message.split('\n')[0] ?? String(err));
  } finally {
    await page.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

function fail(result: PublisherResult, recording: Recording): PublisherResult {
  result.problems.push(`ended ${recording.status}: ${recording.error ? `${recording.error.code} ${recording.error.message}` : 'no error given'}`);
  return result;
}
