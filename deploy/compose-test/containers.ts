import type Docker from 'dockerode';

export interface ProjectContainer {
  id: string;
  name: string;
  service: string;
  state: string;
  health: string | undefined;
}

/** The containers of a compose project, from the labels compose puts on them. */
export async function projectContainers(docker: Docker, project: string): Promise<ProjectContainer[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  return Promise.all(
    list.map(async (c) => {
      const info = await docker.getContainer(c.Id).inspect();
      return {
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        service: c.Labels['com.docker.compose.service'] ?? '?',
        state: info.State.Status,
        health: info.State.Health?.Status || undefined,
      };
    }),
  ).then((all) => all.sort((a, b) => a.name.localeCompare(b.name)));
}

/**
 * Waits until the project runs `expected` containers per service and every one is healthy. A container
 * that exits or turns unhealthy fails at once (no point waiting out the deadline).
 */
export async function waitHealthy(
  docker: Docker,
  project: string,
  expected: Record<string, number>,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<ProjectContainer[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const containers = await projectContainers(docker, project);
    const summary = containers.map((c) => `${c.name}=${c.health ?? c.state}`).join(' ');
    if (summary !== last) {
      log(`containers: ${summary || '(none yet)'}`);
      last = summary;
    }
    const broken = containers.filter((c) => c.state === 'exited' || c.state === 'dead' || c.health === 'unhealthy');
    if (broken.length > 0) throw new Error(`containers failed: ${broken.map((c) => `${c.name} (${c.health ?? c.state})`).join(', ')}`);
    const counts = Object.entries(expected).every(
      ([service, n]) => containers.filter((c) => c.service === service && c.state === 'running' && c.health === 'healthy').length === n,
    );
    if (counts) return containers;
    if (Date.now() > deadline) throw new Error(`containers not healthy after ${Math.round(timeoutMs / 1000)} s: ${summary}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export interface StatsSample {
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats: { usage?: number; stats?: Record<string, number> };
}

/**
 * CPU (percent of one core) and memory of each container, from two stats samples `windowMs` apart (a
 * single sample's precpu_stats are empty on some engines).
 */
export async function containerUsage(
  docker: Docker,
  containers: ProjectContainer[],
  windowMs = 2000,
): Promise<Array<{ name: string; cpuPercent: number; memoryMiB: number }>> {
  const sample = (id: string) => docker.getContainer(id).stats({ stream: false }) as unknown as Promise<StatsSample>;
  const running = containers.filter((c) => c.state === 'running');
  const first = await Promise.all(running.map((c) => sample(c.id)));
  await new Promise((r) => setTimeout(r, windowMs));
  const second = await Promise.all(running.map((c) => sample(c.id)));
  return running.map((c, i) => ({ name: c.name, ...usageBetween(first[i] as StatsSample, second[i] as StatsSample, windowMs) }));
}

/**
 * CPU in percent of one core (what `docker stats` shows) between two samples, and memory without the
 * page cache the kernel can drop (inactive files), as `docker stats` counts it.
 */
export function usageBetween(a: StatsSample, b: StatsSample, windowMs: number): { cpuPercent: number; memoryMiB: number } {
  const used = b.cpu_stats.cpu_usage.total_usage - a.cpu_stats.cpu_usage.total_usage;
  const system = (b.cpu_stats.system_cpu_usage ?? 0) - (a.cpu_stats.system_cpu_usage ?? 0);
  const cpus = b.cpu_stats.online_cpus ?? 1;
  // system_cpu_usage counts every core's time; without it, the wall-clock window stands in
  const cpuPercent = system > 0 ? (used / system) * cpus * 100 : (used / (windowMs * 1e6)) * 100;
  const cache = b.memory_stats.stats?.inactive_file ?? b.memory_stats.stats?.total_inactive_file ?? 0;
  const memoryMiB = Math.max(0, (b.memory_stats.usage ?? 0) - cache) / 1024 / 1024;
  return { cpuPercent, memoryMiB };
}

/** The last lines of every container's output, for a failure report. */
export async function printLogs(docker: Docker, project: string, tail = 150): Promise<void> {
  for (const c of await projectContainers(docker, project)) {
    console.log(`\n===== logs of ${c.name} (${c.health ?? c.state}), last ${tail} lines =====`);
    try {
      const buffer = await docker.getContainer(c.id).logs({ stdout: true, stderr: true, tail, timestamps: false });
      console.log(demux(buffer));
    } catch (err) {
      console.log(`(no logs: ${(err as Error).message})`);
    }
  }
}

/** Docker's multiplexed log stream (8-byte frame headers) as text; plain text passes through. */
export function demux(buffer: Buffer): string {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    if ((kind !== 0 && kind !== 1 && kind !== 2) || buffer[offset + 1] !== 0 || offset + 8 + size > buffer.length) {
      return buffer.toString('utf8');
    }
    out.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return offset === buffer.length ? Buffer.concat(out).toString('utf8') : buffer.toString('utf8');
}

/** The container whose recorder announced `recorderId` (its log lines carry it). */
export async function containerOfRecorder(docker: Docker, project: string, recorderId: string): Promise<ProjectContainer> {
  for (const c of await projectContainers(docker, project)) {
    if (c.service !== 'recorder' || c.state !== 'running') continue;
    const buffer = await docker.getContainer(c.id).logs({ stdout: true, stderr: true });
    if (demux(buffer).includes(`"recorderId":"${recorderId}"`)) return c;
  }
  throw new Error(`no running recorder container logged recorderId ${recorderId}`);
}
