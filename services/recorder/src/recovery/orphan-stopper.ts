import type { Logger } from '@recstack/service-kit';
import { processRunning, readProcess, type OrphanProcess } from './orphan-processes.js';

const POLL_MS = 100;

export interface OrphanStopSteps {
  /** wait after SIGINT (EOS: the muxer writes its index) */
  eosMs: number;
  /** wait after SIGTERM */
  termMs: number;
}

/**
 * Ends an orphaned recording process the way the recorder ends its own children: SIGINT (gst-launch -e
 * and ffmpeg finalize their output on it), then SIGTERM, then SIGKILL, each after a wait. The process is
 * not our child, so its exit is watched in /proc; before each signal its command line is checked again, so
 * a recycled pid is never signalled. Resolves with how it ended.
 */
export async function stopOrphan(orphan: OrphanProcess, steps: OrphanStopSteps, logger: Logger): Promise<'eos' | 'terminated' | 'killed' | 'gone'> {
  const log = logger.child({ recordingId: orphan.recordingId, pid: orphan.pid });
  const ladder: Array<{ signal: NodeJS.Signals; waitMs: number; outcome: 'eos' | 'terminated' | 'killed' }> = [
    { signal: 'SIGINT', waitMs: steps.eosMs, outcome: 'eos' },
    { signal: 'SIGTERM', waitMs: steps.termMs, outcome: 'terminated' },
    { signal: 'SIGKILL', waitMs: 5000, outcome: 'killed' },
  ];
  for (const step of ladder) {
    if (!(await sameProcess(orphan))) return 'gone';
    try {
      process.kill(orphan.pid, step.signal);
    } catch {
      return 'gone';
    }
    log.info({ signal: step.signal }, 'orphaned recording process signalled');
    if (await exitedWithin(orphan.pid, step.waitMs)) return step.outcome;
  }
  log.error('orphaned recording process does not end');
  return 'killed';
}

async function sameProcess(orphan: OrphanProcess): Promise<boolean> {
  const info = await readProcess(orphan.pid);
  return info !== undefined && info.state !== 'Z' && info.argv.some((a) => a.includes(orphan.recordingId));
}

async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await processRunning(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
