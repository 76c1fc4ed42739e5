import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export type ServiceName = 'signaling' | 'media' | 'recorder';

export interface LogLine {
  level?: string;
  msg?: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** every JSON log line the service printed so far */
  logs: LogLine[];
  /** raw output, for failure messages */
  output(): string;
  /** resolves with the first log line that matches */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM (or the given signal) and wait for the exit */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts one service as a real process from its TypeScript sources and waits for its "service ready"
 * log line. Output is kept for assertions and shown when a test fails.
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; echo?: boolean } = {},
): Promise<ServiceProcess> {
  const entry = join(REPO_ROOT, 'services', name, 'src', 'main.ts');
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const raw: string[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const echo = options.echo ?? process.env.TEST_ECHO_LOGS === '1';
  const onLine = (line: string) => {
    raw.push(line);
    if (raw.length > 5000) raw.shift();
    if (echo) process.stderr.write(`[${name}] ${line}\n`);
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      return;
    }
    logs.push(parsed);
    for (const waiter of waiters) {
      if (waiter.match(parsed)) {
        waiters.delete(waiter);
        waiter.resolve(parsed);
      }
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) if (l.length > 0) onLine(l);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));

  const service: ServiceProcess = {
    name,
    child,
    logs,
    output: () => raw.join('\n'),
    waitForLog: (match, timeoutMs = 30_000) => {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((res, rej) => {
        const waiter = {
          match,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            res(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          rej(new Error(`${name}: no matching log line within ${timeoutMs} ms\n${raw.slice(-60).join('\n')}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => {
          if (waiters.delete(waiter)) {
            clearTimeout(timer);
            rej(new Error(`${name} exited before the expected log line\n${raw.slice(-60).join('\n')}`));
          }
        });
      });
    },
    stop: async (signal = 'SIGTERM', timeoutMs = 60_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
    exited,
  };
  await service.waitForLog((l) => l.msg === 'service ready', options.readyTimeoutMs ?? 60_000);
  return service;
}
