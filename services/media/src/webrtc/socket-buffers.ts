import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Below this default receive buffer, media's UDP sockets drop packets under load. Medooze never sets
 * SO_RCVBUF, so every endpoint socket gets `net.core.rmem_default`. The kernel charges a packet's
 * truesize (about 2.3 kB for a 1200-byte RTP packet), so the common 212 992-byte default holds ~90 packets:
 * one 720p keyframe is 30-60, and twenty publishers at 1.5 Mbit/s send ~3 000 packets/s. 4 MiB holds
 * ~1 800 packets: twenty keyframes arriving together, or 0.6 s of a receive thread starved of CPU.
 */
export const RECOMMENDED_RMEM_BYTES = 4 * 1024 * 1024;

export interface SocketBufferSettings {
  rmemDefault: number;
  rmemMax: number;
}

export type SysctlReader = (name: 'rmem_default' | 'rmem_max') => string;

const readProc: SysctlReader = (name) => readFileSync(`/proc/sys/net/core/${name}`, 'utf8');

/** The kernel's socket receive buffer settings; undefined where /proc does not have them (not Linux). */
export function readSocketBufferSettings(read: SysctlReader = readProc): SocketBufferSettings | undefined {
  try {
    const rmemDefault = Number.parseInt(read('rmem_default').trim(), 10);
    const rmemMax = Number.parseInt(read('rmem_max').trim(), 10);
    if (!Number.isFinite(rmemDefault) || !Number.isFinite(rmemMax)) return undefined;
    return { rmemDefault, rmemMax };
  } catch {
    return undefined;
  }
}

export interface SocketBufferCheck {
  ok: boolean;
  settings: SocketBufferSettings;
  /** the command that fixes it (host-wide: containers see the host's values and cannot change them) */
  fix: string | undefined;
}

/**
 * Whether the default receive buffer is large enough, and the exact `sysctl` line that makes it so.
 * rmem_max is raised along with it: it caps what a program may ask for with SO_RCVBUF, and a default
 * above the cap would surprise the next reader.
 */
export function checkSocketBuffers(settings: SocketBufferSettings, wanted = RECOMMENDED_RMEM_BYTES): SocketBufferCheck {
  if (settings.rmemDefault >= wanted) return { ok: true, settings, fix: undefined };
  const max = Math.max(settings.rmemMax, wanted);
  return { ok: false, settings, fix: `sysctl -w net.core.rmem_default=${wanted} net.core.rmem_max=${max}` };
}

export type SysctlWriter = (name: 'rmem_default' | 'rmem_max', value: number) => void;

const writeProc: SysctlWriter = (name, value) => writeFileSync(`/proc/sys/net/core/${name}`, `${value}\n`);

/**
 * Raises the host's receive buffer settings to `wanted` (never lowers either). Host-wide and needs root:
 * only `make run` does it, for the machine it was started on; the services themselves only warn. Returns
 * what changed.
 */
export function raiseSocketBuffers(
  settings: SocketBufferSettings,
  wanted = RECOMMENDED_RMEM_BYTES,
  write: SysctlWriter = writeProc,
): Array<{ name: 'rmem_default' | 'rmem_max'; from: number; to: number }> {
  const changed: Array<{ name: 'rmem_default' | 'rmem_max'; from: number; to: number }> = [];
  // the cap first, so the default never exceeds it even for a moment
  if (settings.rmemMax < wanted) {
    write('rmem_max', wanted);
    changed.push({ name: 'rmem_max', from: settings.rmemMax, to: wanted });
  }
  if (settings.rmemDefault < wanted) {
    write('rmem_default', wanted);
    changed.push({ name: 'rmem_default', from: settings.rmemDefault, to: wanted });
  }
  return changed;
}
