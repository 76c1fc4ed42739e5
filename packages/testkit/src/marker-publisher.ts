import type { Page } from 'playwright-core';
import { publishPageStream, type WhipSession } from './whip-publisher.js';

/**
 * A/V sync markers from a browser: Chromium's fake devices do not give a beep and a flash at the same
 * instant (the fake camera draws a sweeping "pacman" and never flashes; the fake microphone beeps on its
 * own clock, in another process), so the page makes its own. A canvas is captured as the video track and
 * a WebAudio oscillator as the audio track; every `periodMs` the canvas turns white and the oscillator is
 * switched on, in the same animation frame, for `markerMs`. Between markers the canvas is dark grey with
 * a moving bar (the encoder keeps sending frames) and the audio is silent.
 */
export interface MarkerPublishOptions {
  videoCodec?: string;
  periodMs?: number;
  markerMs?: number;
  width?: number;
  height?: number;
  /** beep frequency (Hz) */
  frequency?: number;
  /** the canvas track's maximum frame rate (default: every animation frame) */
  frameRate?: number;
  token?: string;
  /**
   * Also record the same tracks locally with MediaRecorder (WebM), for comparison: what the browser itself
   * thinks is in sync. Fetch it with `localRecording(page)` after `stopMarkers(page)`.
   */
  localRecording?: boolean;
  /** the AudioContext's latency hint */
  latencyHint?: 'interactive' | 'balanced' | 'playback';
  /**
   * Switch the tone on this much earlier than the flash is drawn (ms). By default the AudioContext's
   * base + output latency: a MediaStreamAudioDestinationNode's track carries the audio at the time it would
   * be played out, that much after it was scheduled (measured here: ~42 ms, which otherwise shows up as
   * the browser's own A/V offset, in its MediaRecorder files as much as in WebRTC).
   */
  audioLeadMs?: number;
  /** send to this address instead of media's candidate (a UdpRelay), as in `publishWhip` */
  candidateOverride?: { host: string; port: number };
}

export interface MarkerSession extends WhipSession {
  periodMs: number;
  markerMs: number;
}

type MarkerGlobals = {
  __name?: unknown;
  __markers?: { stream: MediaStream; stop: () => void; recorder?: MediaRecorder; chunks: Blob[]; leads: number[] };
};

/** Starts the markers in the page (any secure origin) and keeps their stream in the page for publishing. */
export async function startMarkers(page: Page, options: MarkerPublishOptions = {}): Promise<void> {
  // tsx (esbuild, keepNames) wraps named functions in `__name(...)`, which the page does not have
  await page.evaluate('globalThis.__name ??= (f) => f');
  return page.evaluate(
    async (opts) => {
      const g = globalThis as unknown as MarkerGlobals;
      const canvas = document.createElement('canvas');
      canvas.width = opts.width;
      canvas.height = opts.height;
      document.body.appendChild(canvas);
      const ctx = canvas.getContext('2d');
      if (!ctx) throw new Error('no 2d canvas context');
      const audio = new AudioContext({ sampleRate: 48000, latencyHint: opts.latencyHint });
      await audio.resume();
      const oscillator = audio.createOscillator();
      oscillator.frequency.value = opts.frequency;
      const gain = audio.createGain();
      gain.gain.value = 0;
      const destination = audio.createMediaStreamDestination();
      oscillator.connect(gain).connect(destination);
      oscillator.start();
      // a frame at every animation frame (60 Hz): capping it (captureStream(30)) makes a flash show up to one
      // animation frame late, about 20 ms of skew measured in the browser's own recording
      const video = opts.frameRate === undefined ? canvas.captureStream() : canvas.captureStream(opts.frameRate);
      const stream = new MediaStream([...video.getVideoTracks(), ...destination.stream.getAudioTracks()]);

      let running = true;
      let nextMarker = performance.now() + opts.periodMs;
      const leads: number[] = [];
      let flashFrom = Infinity;
      let flashUntil = 0;
      let frame = 0;
      const draw = (now: number) => {
        if (!running) return;
        if (now >= nextMarker) {
          // the tone is switched on now and the flash drawn in this frame (or `audioLeadMs` later, to make
          // up for the audio path's own delay)
          gain.gain.setValueAtTime(0.8, audio.currentTime);
          gain.gain.setValueAtTime(0, audio.currentTime + opts.markerMs / 1000);
          const lead = opts.audioLeadMs ?? (audio.baseLatency + audio.outputLatency) * 1000;
          leads.push(lead);
          flashFrom = now + lead;
          flashUntil = flashFrom + opts.markerMs;
          nextMarker += opts.periodMs;
        }
        const white = now >= flashFrom && now < flashUntil;
        ctx.fillStyle = white ? '#ffffff' : '#202020';
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        if (!white) {
          ctx.fillStyle = '#404040';
          ctx.fillRect((frame * 8) % canvas.width, 0, 16, canvas.height);
        }
        frame++;
        requestAnimationFrame(draw);
      };
      requestAnimationFrame(draw);

      let recorder: MediaRecorder | undefined;
      const chunks: Blob[] = [];
      if (opts.localRecording) {
        recorder = new MediaRecorder(stream, { mimeType: 'video/webm;codecs=vp8,opus' });
        recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
        recorder.start(1000);
      }
      g.__markers = {
        stream,
        chunks,
        recorder,
        leads,
        stop: () => {
          running = false;
          oscillator.stop();
          for (const t of stream.getTracks()) t.stop();
          void audio.close();
        },
      };
    },
    {
      periodMs: options.periodMs ?? 1500,
      markerMs: options.markerMs ?? 120,
      width: options.width ?? 640,
      height: options.height ?? 360,
      frequency: options.frequency ?? 1000,
      frameRate: options.frameRate,
      localRecording: options.localRecording ?? false,
      latencyHint: options.latencyHint ?? 'interactive',
      audioLeadMs: options.audioLeadMs,
    },
  );
}

/** Starts the markers and publishes them over WHIP from a page already on the server's origin. */
export async function publishMarkerWhip(page: Page, options: MarkerPublishOptions = {}): Promise<MarkerSession> {
  await startMarkers(page, options);
  const session = await publishPageStream(page, 'markers', options);
  return { ...session, periodMs: options.periodMs ?? 1500, markerMs: options.markerMs ?? 120 };
}

/** Stops drawing and the tone, and the local recording if one runs; says how far each tone led its flash. */
export async function stopMarkers(page: Page): Promise<{ audioLeadsMs: number[] }> {
  return page.evaluate(async () => {
    const g = globalThis as unknown as MarkerGlobals;
    const recorder = g.__markers?.recorder;
    if (recorder && recorder.state !== 'inactive') {
      await new Promise<void>((resolve) => {
        recorder.addEventListener('stop', () => resolve(), { once: true });
        recorder.stop();
      });
    }
    g.__markers?.stop();
    return { audioLeadsMs: g.__markers?.leads ?? [] };
  });
}

/** The page's own MediaRecorder file (WebM), when `localRecording` was asked for. */
export async function localRecording(page: Page): Promise<Buffer> {
  const base64 = await page.evaluate(async () => {
    const g = globalThis as unknown as MarkerGlobals;
    const blob = new Blob(g.__markers?.chunks ?? [], { type: 'video/webm' });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  });
  return Buffer.from(base64, 'base64');
}
