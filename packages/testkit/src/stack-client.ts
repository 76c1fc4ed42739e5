import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { RecordingSchema, type Recording } from '@recstack/contracts';

/** Talks to the stack's public API as a client would. */
export class StackClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    /** how often waitFor asks again */
    private readonly pollMs = 250,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}`, ...extra } : extra;
  }

  async recordings(): Promise<Recording[]> {
    const res = await fetch(`${this.baseUrl}/api/recordings`, { headers: this.headers() });
    assert.equal(res.status, 200, `GET /api/recordings answered ${res.status}`);
    const body = (await res.json()) as { recordings: unknown[] } | unknown[];
    return (Array.isArray(body) ? body : body.recordings).map((r) => RecordingSchema.parse(r));
  }

  async recording(id: string): Promise<Recording> {
    const res = await fetch(`${this.baseUrl}/api/recordings/${id}`, { headers: this.headers() });
    assert.equal(res.status, 200, `GET /api/recordings/${id} answered ${res.status}`);
    return RecordingSchema.parse(await res.json());
  }

  async start(sessionId: string): Promise<Recording> {
    const res = await fetch(`${this.baseUrl}/api/sessions/${sessionId}/recordings`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: '{}',
    });
    const text = await res.text();
    assert.equal(res.status, 201, `starting a recording of ${sessionId} answered ${res.status}: ${text}`);
    return RecordingSchema.parse(JSON.parse(text));
  }

  async stop(id: string): Promise<Recording> {
    const res = await fetch(`${this.baseUrl}/api/recordings/${id}/stop`, { method: 'POST', headers: this.headers() });
    const text = await res.text();
    assert.equal(res.status, 200, `stopping ${id} answered ${res.status}: ${text}`);
    return RecordingSchema.parse(JSON.parse(text));
  }

  /** Downloads the file through the API into `dir` and checks its length against the catalog. */
  async download(recording: Recording, dir: string): Promise<string> {
    const res = await fetch(`${this.baseUrl}/api/recordings/${recording.id}/media?download`, { headers: this.headers() });
    assert.equal(res.status, 200, `downloading ${recording.id} answered ${res.status}`);
    assert.ok(res.body, 'the download has a body');
    const path = join(dir, recording.fileName);
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(path));
    if (recording.sizeBytes !== null) {
      assert.equal(Number(res.headers.get('content-length')), recording.sizeBytes, `${recording.id}: content-length is the catalog's size`);
    }
    return path;
  }

  async waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /**
   * Waits until signaling's /readyz answers 200 (NATS) and its body counts a media and a recorder instance
   * (readiness itself does not require them); returns its body.
   */
  waitReady(timeoutMs: number): Promise<unknown> {
    return this.waitFor(
      'signaling /readyz (NATS, a media and a recorder answering)',
      async () => {
        const res = await fetch(`${this.baseUrl}/readyz`).catch(() => undefined);
        if (res?.status !== 200) return undefined;
        const body = (await res.json().catch(() => ({}))) as { checks?: { media?: number; recorders?: number } };
        return (body.checks?.media ?? 0) > 0 && (body.checks?.recorders ?? 0) > 0 ? body : undefined;
      },
      timeoutMs,
    );
  }

  waitForStatus(id: string, statuses: Recording['status'][], timeoutMs: number): Promise<Recording> {
    return this.waitFor(
      `${id} to be ${statuses.join(' or ')}`,
      async () => {
        const r = await this.recording(id);
        return statuses.includes(r.status) ? r : undefined;
      },
      timeoutMs,
    );
  }
}
