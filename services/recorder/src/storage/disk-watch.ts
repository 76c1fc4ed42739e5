import { stat } from 'node:fs/promises';
import type { Logger } from '@recstack/service-kit';
import { formatBytes, freeBytes, type DiskLimits, type FreeSpaceProbe } from './disk-space.js';

/** A running recording as the watch sees it: the file it grows, and how to end it. */
export interface WatchedFile {
  recordingId: string;
  path: string;
  end(reason: 'disk-full' | 'max-size'): void;
}

export interface DiskWatchSettings extends DiskLimits {
  dir: string;
  intervalMs: number;
}

/**
 * Looks at the recordings folder every `intervalMs` while recordings run. Both limits are checked against
 * where the numbers will be one look later (now plus twice the last interval's growth), so a fast writer
 * is ended before it passes the floor or the size limit, not after.
 */
export class DiskWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastFree: number | undefined;
  private readonly lastSize = new Map<string, number>();
  private diskFullLogged = false;

  constructor(
    private readonly settings: DiskWatchSettings,
    private readonly active: () => Iterable<WatchedFile>,
    private readonly logger: Logger,
    private readonly probe: FreeSpaceProbe = freeBytes,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.check().finally(() => (this.running = undefined));
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the folder and at every running file (the timer's job; a test may call it directly). */
  async check(): Promise<void> {
    const files = [...this.active()];
    if (files.length === 0) {
      this.lastFree = undefined;
      this.lastSize.clear();
      return;
    }
    await this.checkFree(files);
    if (this.settings.maxFileBytes > 0) await Promise.all(files.map((f) => this.checkSize(f)));
    const ids = new Set(files.map((f) => f.recordingId));
    for (const id of this.lastSize.keys()) if (!ids.has(id)) this.lastSize.delete(id);
  }

  private async checkFree(files: WatchedFile[]): Promise<void> {
    let free: number;
    try {
      free = await this.probe(this.settings.dir);
    } catch (err) {
      this.logger.warn({ err, dir: this.settings.dir }, 'free space not readable');
      return;
    }
    const drop = this.lastFree === undefined ? 0 : Math.max(0, this.lastFree - free);
    this.lastFree = free;
    if (free - 2 * drop >= this.settings.stopFreeBytes) {
      this.diskFullLogged = false;
      return;
    }
    if (!this.diskFullLogged) {
      this.logger.warn(
        { free: formatBytes(free), floor: formatBytes(this.settings.stopFreeBytes), recordings: files.length },
        'recordings folder nearly full, ending the recordings',
      );
      this.diskFullLogged = true;
    }
    for (const f of files) f.end('disk-full');
  }

  private async checkSize(file: WatchedFile): Promise<void> {
    const size = await stat(file.path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return;
    const last = this.lastSize.get(file.recordingId);
    this.lastSize.set(file.recordingId, size);
    const growth = last === undefined ? 0 : Math.max(0, size - last);
    if (size + 2 * growth < this.settings.maxFileBytes) return;
    this.logger.info({ recordingId: file.recordingId, sizeBytes: size, maxFileBytes: this.settings.maxFileBytes }, 'recording file reached its size limit');
    file.end('max-size');
  }
}
