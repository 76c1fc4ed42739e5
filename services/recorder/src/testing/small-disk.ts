/**
 * Test support, not product code: a real small filesystem (tmpfs) for the disk-limit tests, and helpers to
 * fill it on purpose.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const mounts: string[] = [];

/** A tmpfs of `sizeMiB`; `skip` (with the reason) when this machine does not let the test mount one. */
export async function smallDisk(sizeMiB: number): Promise<{ dir: string } | { skip: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'recstack-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${(err as Error).message.split('\n')[0]}` };
  }
  mounts.push(dir);
  return { dir };
}

/** Unmounts and removes every tmpfs smallDisk made (a test file's `after`). */
export async function releaseSmallDisks(): Promise<void> {
  for (const dir of mounts.splice(0)) {
    await run('umount', ['-l', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** What an unprivileged writer may still write in `dir` (statfs `bavail`, as the recorder reads it). */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Writes a filler file so that about `leaveFree` bytes stay free in `dir`. */
export async function fillUntil(dir: string, name: string, leaveFree: number): Promise<void> {
  const size = Math.max(0, (await freeBytes(dir)) - leaveFree);
  await writeFile(join(dir, name), Buffer.alloc(size, 1));
}
