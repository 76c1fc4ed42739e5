import { z } from 'zod';

export const VIDEO_CODECS = ['h264', 'vp8', 'vp9', 'av1'] as const;
export const AUDIO_CODECS = ['opus'] as const;
export const OUTPUT_AUDIO_CODECS = ['aac', 'opus'] as const;
export const CONTAINERS = ['mp4', 'webm', 'mkv'] as const;

export const VideoCodecSchema = z.enum(VIDEO_CODECS);
export const AudioCodecSchema = z.enum(AUDIO_CODECS);
export const OutputAudioCodecSchema = z.enum(OUTPUT_AUDIO_CODECS);
export const ContainerSchema = z.enum(CONTAINERS);
export const MediaKindSchema = z.enum(['audio', 'video']);

export type VideoCodec = z.infer<typeof VideoCodecSchema>;
export type AudioCodec = z.infer<typeof AudioCodecSchema>;
export type OutputAudioCodec = z.infer<typeof OutputAudioCodecSchema>;
export type Container = z.infer<typeof ContainerSchema>;
export type MediaKind = z.infer<typeof MediaKindSchema>;

/** What each container can hold. Matroska takes everything we record. */
const CONTAINER_VIDEO: Record<Container, readonly VideoCodec[]> = {
  mp4: ['h264', 'vp9', 'av1'],
  webm: ['vp8', 'vp9', 'av1'],
  mkv: ['h264', 'vp8', 'vp9', 'av1'],
};
const CONTAINER_AUDIO: Record<Container, readonly OutputAudioCodec[]> = {
  mp4: ['aac', 'opus'],
  webm: ['opus'],
  mkv: ['aac', 'opus'],
};
const DEFAULT_CONTAINER: Record<VideoCodec, Container> = {
  h264: 'mp4',
  av1: 'mp4',
  vp8: 'webm',
  vp9: 'webm',
};
const DEFAULT_AUDIO: Record<Container, OutputAudioCodec> = {
  mp4: 'aac',
  webm: 'opus',
  mkv: 'opus',
};

export interface FormatRequest {
  /** codec of the publisher's video track, if it has one */
  video?: VideoCodec | undefined;
  /** codec of the publisher's audio track, if it has one */
  audio?: AudioCodec | undefined;
  container?: Container | undefined;
  audioCodec?: OutputAudioCodec | undefined;
}

export interface OutputFormat {
  container: Container;
  /** undefined when the publisher sends no audio */
  audioCodec: OutputAudioCodec | undefined;
}

export type FormatResolution = { ok: true; format: OutputFormat } | { ok: false; message: string };

/**
 * Picks the output container and audio codec for a recording, or explains in words why the requested
 * combination cannot be written. Pure, so every service can check a request before anything starts.
 */
export function resolveOutputFormat(req: FormatRequest): FormatResolution {
  if (!req.video && !req.audio) return { ok: false, message: 'the session has neither audio nor video to record' };
  const container = req.container ?? (req.video ? DEFAULT_CONTAINER[req.video] : 'mp4');
  if (req.video && !CONTAINER_VIDEO[container].includes(req.video)) {
    return {
      ok: false,
      message: `${req.video.toUpperCase()} video cannot be written to ${container}; use ${containersFor(req.video).join(' or ')}`,
    };
  }
  if (!req.audio) {
    if (req.audioCodec) return { ok: false, message: `audioCodec ${req.audioCodec} was requested but the session has no audio` };
    return { ok: true, format: { container, audioCodec: undefined } };
  }
  const audioCodec = req.audioCodec ?? DEFAULT_AUDIO[container];
  if (!CONTAINER_AUDIO[container].includes(audioCodec)) {
    return { ok: false, message: `${audioCodec} audio cannot be written to ${container}; use ${CONTAINER_AUDIO[container].join(' or ')}` };
  }
  return { ok: true, format: { container, audioCodec } };
}

export function containersFor(video: VideoCodec): Container[] {
  return CONTAINERS.filter((c) => CONTAINER_VIDEO[c].includes(video));
}

export function fileExtension(container: Container): string {
  return `.${container}`;
}

export function mimeType(container: Container, hasVideo: boolean): string {
  switch (container) {
    case 'mp4':
      return hasVideo ? 'video/mp4' : 'audio/mp4';
    case 'webm':
      return hasVideo ? 'video/webm' : 'audio/webm';
    case 'mkv':
      return 'video/x-matroska';
  }
}
