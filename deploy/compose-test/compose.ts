import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Engine } from './engine.js';

/** A compose project run by the test: its name, files and the variables compose interpolates. */
export interface ComposeProject {
  name: string;
  repoRoot: string;
  envFile: string;
}

/** Writes the variables into an env file for `--env-file`, so a developer's own .env is not read. */
export function writeEnvFile(path: string, values: Record<string, string>): void {
  writeFileSync(
    path,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
}

/**
 * Runs one compose command for the project, its output prefixed with `[compose]`; rejects when it exits
 * non-zero or runs longer than `timeoutMs`.
 */
export class ComposeError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'ComposeError';
  }
}

export function compose(engine: Engine, project: ComposeProject, args: string[], timeoutMs: number): Promise<void> {
  const [command, ...base] = engine.compose as [string, ...string[]];
  const all = [...base, '--project-name', project.name, '--env-file', project.envFile, '--file', `${project.repoRoot}/docker-compose.yml`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, all, {
      cwd: project.repoRoot,
      env: { ...process.env, DOCKER_HOST: engine.dockerHost, COMPOSE_PROJECT_NAME: project.name, ...legacyBuild(engine) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const prefix = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split(/\r?\n/)) if (line.trim()) console.log(`  [compose] ${line}`);
    };
    child.stdout.on('data', prefix);
    child.stderr.on('data', prefix);
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new ComposeError(`${engine.compose.join(' ')} ${args.join(' ')} took longer than ${Math.round(timeoutMs / 1000)} s`, output));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new ComposeError(`${engine.compose.join(' ')} ${args.join(' ')} exited with ${code ?? signal}`, output));
    });
  });
}

/**
 * docker-compose v1 builds through the docker CLI, which wants BuildKit's buildx plugin; through the
 * Engine API instead (docker-py) it works with any engine, Podman's included, and builds in parallel.
 */
function legacyBuild(engine: Engine): Record<string, string> {
  return engine.compose[0] === 'docker-compose' ? { COMPOSE_DOCKER_CLI_BUILD: '0', DOCKER_BUILDKIT: '0' } : {};
}
