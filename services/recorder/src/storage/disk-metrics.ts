import { Gauge, type Registry } from 'prom-client';
import { freeBytes } from './disk-space.js';

/** Free space in the recordings folder, read at scrape time: what the disk limits are compared with. */
export function registerFreeSpaceGauge(registry: Registry, dir: string): void {
  new Gauge({
    name: 'recorder_recordings_dir_free_bytes',
    help: 'Bytes free for recordings in RECORDINGS_DIR (statfs bavail)',
    registers: [registry],
    async collect() {
      const free = await freeBytes(dir).catch(() => undefined);
      if (free !== undefined) this.set(free);
    },
  });
}
