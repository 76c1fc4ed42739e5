import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

/** A Docker-compatible engine to talk to, and how to reach it. */
export interface Engine {
  dockerHost: string;
  socketPath: string;
  docker: Docker;
  /** Podman serving the Docker API: health checks only run when something triggers them (see startHealthDriver) */
  podman: boolean;
  /** the compose command: `docker compose` (v2) or `docker-compose` (v1) */
  compose: string[];
  /** true when this run started the engine's API socket (and so stops it at the end) */
  startedHere: boolean;
  engineScript: string | undefined;
}

function socketOf(dockerHost: string): string | undefined {
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
}

async function answers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    await new Docker({ socketPath }).ping();
    return true;
  } catch {
    return false;
  }
}

/** Podman's Docker-compatible API socket, as the workplace's container engine starts it. */
const PODMAN_SOCKET = '/run/podman/podman.sock';

/**
 * Where the workplace's container-engine tool may be: CONTAINER_ENGINE_TOOL, then `shared/tools/` next to
 * the checkout or next to any folder above it (a clone for CI may sit deeper than the working copy). No
 * machine's own path is built in: a checkout elsewhere names the tool with CONTAINER_ENGINE_TOOL.
 */
/** The workplace's shared tools folder (the machines this project runs on lay shared/ out there). */
const WORKPLACE_ENGINE_TOOL = '/work/shared/tools/container-engine';

export function engineToolCandidates(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  if (env['CONTAINER_ENGINE_TOOL']) candidates.push(env['CONTAINER_ENGINE_TOOL']);
  for (let dir = resolve(repoRoot); ; dir = dirname(dir)) {
    candidates.push(join(dir, '..', 'shared', 'tools', 'container-engine'));
    if (dirname(dir) === dir) break;
  }
  // last: where the workplace itself keeps shared/ (CI's clone has a copy beside it, found above; this
  // only matters if a run is cloned somewhere else: compose-test must not silently lose its engine)
  candidates.push(WORKPLACE_ENGINE_TOOL);
  return [...new Set(candidates.map((c) => resolve(c)))];
}

/**
 * Finds a Docker daemon (DOCKER_HOST, then /var/run/docker.sock); where none answers, starts the
 * workplace's container engine (Podman with a Docker-compatible socket, `../shared/tools/container-engine up`)
 * and uses the DOCKER_HOST it prints; without that tool, a Podman socket that already answers.
 */
export async function ensureEngine(repoRoot: string, log: (line: string) => void): Promise<Engine> {
  const candidates = [process.env.DOCKER_HOST, 'unix:///var/run/docker.sock'].filter((h): h is string => !!h);
  let dockerHost: string | undefined;
  for (const candidate of candidates) {
    const socketPath = socketOf(candidate);
    if (socketPath && (await answers(socketPath))) {
      dockerHost = candidate;
      break;
    }
  }
  let startedHere = false;
  const tools = engineToolCandidates(repoRoot);
  const engineScript = tools.find((p) => existsSync(p));
  if (!dockerHost && !engineScript && (await answers(PODMAN_SOCKET))) {
    log(`no Docker daemon and no container-engine tool: using the Podman socket that answers at ${PODMAN_SOCKET}`);
    dockerHost = `unix://${PODMAN_SOCKET}`;
  }
  if (!dockerHost) {
    if (!engineScript)
      throw new Error(`no Docker daemon answers and no container-engine tool was found (looked at ${tools.join(', ')}; set CONTAINER_ENGINE_TOOL)`);
    log(`no Docker daemon answers: starting ${engineScript} up (installs Podman once, builds local base images once)`);
    const wasUp = await new Docker({ socketPath: PODMAN_SOCKET }).ping().then(
      () => true,
      () => false,
    );
    const result = spawnSync(engineScript, ['up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
    if (result.status !== 0) throw new Error(`container-engine up failed (exit ${String(result.status)})`);
    const match = /DOCKER_HOST=(\S+)/.exec(result.stdout);
    if (!match?.[1]) throw new Error(`container-engine up printed no DOCKER_HOST: ${result.stdout}`);
    dockerHost = match[1];
    startedHere = !wasUp;
  }
  const socketPath = socketOf(dockerHost);
  if (!socketPath) throw new Error(`only unix sockets are supported as DOCKER_HOST (got ${dockerHost})`);
  const docker = new Docker({ socketPath });
  const version = await docker.version();
  const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name));
  log(`engine: ${podman ? 'Podman' : 'Docker'} ${version.Version} at ${dockerHost}`);
  if (podman) await ensureBridgeFirewall(log);
  return { dockerHost, socketPath, docker, podman, compose: await composeCommand(dockerHost), startedHere, engineScript };
}

/**
 * Podman's bridge networks (netavark) program the firewall with iptables; without the binary every
 * container on a bridge fails to start with "netavark: No such file or directory".
 */
async function ensureBridgeFirewall(log: (line: string) => void): Promise<void> {
  const has = spawnSync('sh', ['-c', 'command -v iptables'], { encoding: 'utf8' }).status === 0;
  if (has) return;
  if (process.getuid?.() !== 0) throw new Error('Podman bridge networking needs iptables: apt-get install iptables');
  log('installing iptables (netavark needs it for bridge networks)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'iptables'], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    if (install().status !== 0) throw new Error('apt-get install iptables failed');
  }
}

async function composeCommand(dockerHost: string): Promise<string[]> {
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  try {
    await run('docker', ['compose', 'version'], { env });
    return ['docker', 'compose'];
  } catch {
    try {
      await run('docker-compose', ['version'], { env });
      return ['docker-compose'];
    } catch {
      throw new Error('neither `docker compose` nor `docker-compose` is installed');
    }
  }
}

/** Stops the engine's API socket when this run started it. */
export function stopEngine(engine: Engine, log: (line: string) => void): void {
  if (!engine.startedHere || !engine.engineScript) return;
  log('stopping the container engine API socket this run started');
  spawnSync(engine.engineScript, ['down'], { stdio: 'inherit' });
}

/**
 * Podman runs health checks from systemd timers; without systemd (containers, CI sandboxes) nothing runs
 * them, a container stays "starting" forever and `depends_on: condition: service_healthy` never
 * resolves. While a `during` task runs, this runs the health check of every container of the project
 * through Podman's own API every `intervalMs`, which updates the status Docker's API reports. It is only
 * active while something waits for health: each check is an exec into the container, and a machine of two
 * cores feels them during recordings.
 */
export async function whileDrivingHealth<T>(engine: Engine, project: string, during: () => Promise<T>, intervalMs = 2000): Promise<T> {
  if (!engine.podman || existsSync('/run/systemd/system')) return during();
  let stopped = false;
  const tick = async () => {
    const containers = await engine.docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`] } });
    await Promise.all(containers.map((c) => libpod(engine.socketPath, `/v4.0.0/libpod/containers/${c.Id}/healthcheck`).catch(() => undefined)));
  };
  const loop = (async () => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    return await during();
  } finally {
    stopped = true;
    await loop;
  }
}

function libpod(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
