import { stat, statfs } from 'node:fs/promises';
import { ServiceError } from '@recstack/service-kit';

/**
 * The recorder's disk rules, kept in one place so every caller asks the same question:
 * - a start is refused while the recordings folder has less than `minFreeBytes` free;
 * - running recordings end (`disk-full`) once it has less than `stopFreeBytes` free, while finalizing still fits;
 * - one file ends (`max-size`) before it passes `maxFileBytes`;
 * - a finalizing copy (and each copy of a segment join) starts only when the copy and `stopFreeBytes` both
 *   fit, so it never fills the disk and never pushes the other recordings under their floor.
 */
export interface DiskLimits {
  minFreeBytes: number;
  stopFreeBytes: number;
  /** 0: no limit */
  maxFileBytes: number;
}

/** Bytes an unprivileged process may still write in the filesystem holding `dir` (statfs `bavail`). */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

export const freeBytes: FreeSpaceProbe = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

/** The recordings folder has too little free space for another recording: another recorder may take it. */
export class InsufficientStorageError extends ServiceError {
  constructor(free: number, needed: number) {
    super('INSUFFICIENT_STORAGE', `this recorder has ${formatBytes(free)} free for recordings, under its minimum of ${formatBytes(needed)}`);
  }
}

/** Throws InsufficientStorageError when a new recording must not start in `dir`. */
export async function assertRoomToStart(dir: string, limits: DiskLimits, probe: FreeSpaceProbe = freeBytes): Promise<void> {
  const free = await probe(dir);
  if (free < limits.minFreeBytes) throw new InsufficientStorageError(free, limits.minFreeBytes);
}

/**
 * Whether `bytes` more may be written into `dir`: they plus `keepFreeBytes` must fit in the free space.
 * Undefined when they fit, else the reason (for the log and the report). `what` names the copy in the reason.
 */
export async function bytesWontFit(
  bytes: number,
  dir: string,
  keepFreeBytes: number,
  probe: FreeSpaceProbe = freeBytes,
  what = 'the rewrite',
): Promise<string | undefined> {
  const free = await probe(dir);
  if (bytes + keepFreeBytes <= free) return undefined;
  return `not enough free space for ${what} (${formatBytes(bytes)} to copy, ${formatBytes(free)} free, ${formatBytes(keepFreeBytes)} kept free)`;
}

/**
 * Whether a copy of `sources` (one file, or several written into one: a join) into `dir` may start: their
 * sizes plus `keepFreeBytes` must fit in the free space (bytesWontFit).
 */
export async function copyWontFit(
  sources: string | readonly string[],
  dir: string,
  keepFreeBytes: number,
  probe: FreeSpaceProbe = freeBytes,
  what = 'the rewrite',
): Promise<string | undefined> {
  const sizes = await Promise.all((typeof sources === 'string' ? [sources] : sources).map((path) => stat(path).then((s) => s.size)));
  return bytesWontFit(
    sizes.reduce((sum, size) => sum + size, 0),
    dir,
    keepFreeBytes,
    probe,
    what,
  );
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
