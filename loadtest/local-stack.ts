import { freeUdpRange, startService, startStack, type ServiceProcess, type TestStack } from '@recstack/testkit';
import type { ChaosEvent } from './chaos-plan.js';
import { availableParallelism } from 'node:os';
import type { LoadConfig } from './load-config.js';

/**
 * nats-server and the three services on loopback, sized for the load, and the processes as they are now:
 * chaos kills and restarts them, so who is who is looked up, not kept.
 */
export class LocalStack {
  private readonly restarted: ServiceProcess[] = [];
  media: ServiceProcess;
  readonly recorders: ServiceProcess[];

  private constructor(
    readonly stack: TestStack,
    readonly receiveBuffers: string,
    /** media's WebRTC range (MEDIA_UDP_PORT_MIN..MAX): the sockets whose drops count */
    readonly mediaUdpPorts: { min: number; max: number },
  ) {
    this.media = stack.media;
    this.recorders = [...stack.recorders];
  }

  static async start(config: LoadConfig, publishers: number): Promise<LocalStack> {
    const bufferNote = await raiseReceiveBuffersLikeMakeRun();
    // media wants at least 50 ports (Medooze), a port per endpoint (one per core), and RTP and RTCP of two tracks per session
    const udp = await freeUdpRange(Math.max(60, availableParallelism() + 4 * publishers + 8));
    const stack = await startStack({
      recorders: config.recorders,
      // 4 ports per recording, twice over: a lost recorder's ports stay quarantined while its recordings move on
      // (the test kit's 100 capped a run at 25 recordings with NO_FREE_PORTS, which looked like a capacity)
      recorderPortCount: Math.max(100, 8 * publishers + 8),
      // production's log level (the test kit's default, debug, would make the services measured pay for it) and
      // admission (the test kit turns the CPU rule off: a shared test machine is not the stack's own)
      recorderEnv: { LOG_LEVEL: 'info', RECORDER_ENGINE: config.engine, MAX_RECORDINGS: String(publishers), RECORDER_MAX_CPU: '85' },
      mediaEnv: { LOG_LEVEL: 'info', MAX_SESSIONS: String(publishers), MEDIA_UDP_PORT_MIN: String(udp.min), MEDIA_UDP_PORT_MAX: String(udp.max) },
      // every publisher and this harness share one client address: the per-address limits would throttle the harness, not the stack
      signalingEnv: { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', MAX_SESSIONS_PER_CLIENT: String(Math.max(10, publishers)) },
    });
    return new LocalStack(stack, bufferNote, { min: udp.min, max: udp.max });
  }

  get baseUrl(): string {
    return this.stack.baseUrl;
  }

  /** The process trees the report measures, by name. */
  roots(): Map<string, number> {
    const roots = new Map<string, number>();
    const add = (name: string, pid: number | undefined) => pid !== undefined && roots.set(name, pid);
    add('nats-server', this.stack.nats.pid());
    add('signaling', this.stack.signaling.child.pid);
    add('media', this.media.child.pid);
    this.recorders.forEach((r, i) => add(`recorder ${i + 1}`, r.child.pid));
    return roots;
  }

  /** Does one chaos event; resolves once the service is back. Returns what was done, for the report. */
  async chaos(event: ChaosEvent): Promise<string> {
    switch (event.action) {
      case 'kill-recorder':
      case 'term-recorder': {
        const signal = event.action === 'kill-recorder' ? 'SIGKILL' : 'SIGTERM';
        const victim = this.recorders[0];
        if (!victim) return 'no recorder to stop';
        await victim.stop(signal, 30_000);
        const fresh = await startService('recorder', this.stack.envFor('recorder', 0));
        this.restarted.push(fresh);
        this.recorders[0] = fresh;
        return `${signal} to recorder 1 (pid ${victim.child.pid}), restarted as pid ${fresh.child.pid}`;
      }
      case 'restart-nats':
        await this.stack.nats.kill();
        await new Promise((r) => setTimeout(r, 2000));
        await this.stack.nats.start();
        return 'nats-server stopped (SIGTERM) and started again on the same port and store after 2 s';
      case 'term-media':
      case 'kill-media': {
        const signal = event.action === 'kill-media' ? 'SIGKILL' : 'SIGTERM';
        const victim = this.media;
        await victim.stop(signal, 30_000);
        const fresh = await startService('media', this.stack.envFor('media'));
        this.restarted.push(fresh);
        this.media = fresh;
        return `${signal} to media (pid ${victim.child.pid}), restarted as pid ${fresh.child.pid}; its WebRTC sessions are gone`;
      }
    }
  }

  async stop(): Promise<void> {
    for (const s of [...this.restarted].reverse()) await s.stop().catch(() => undefined);
    await this.stack.stop();
  }
}

/**
 * The stack the harness measures is the one `make run` starts: as root, make run raises media's socket
 * receive buffers (host-wide, until reboot), so the harness does too; RECSTACK_KEEP_SYSCTL=1 leaves the host
 * alone. Returns the value the run has, for the report. (Imported here, not at the top: the generator's image
 * runs against LOAD_URL and has no media service.)
 */
async function raiseReceiveBuffersLikeMakeRun(): Promise<string> {
  const { checkSocketBuffers, raiseSocketBuffers, readSocketBufferSettings } = await import('@recstack/media');
  const settings = readSocketBufferSettings();
  if (settings && !checkSocketBuffers(settings).ok && process.getuid?.() === 0 && process.env.RECSTACK_KEEP_SYSCTL !== '1') {
    try {
      for (const c of raiseSocketBuffers(settings)) console.log(`load: raised net.core.${c.name} from ${c.from} to ${c.to} bytes, as make run does`);
    } catch (err) {
      console.log(`load: could not raise net.core.rmem_default (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const now = readSocketBufferSettings();
  return now ? `net.core.rmem_default ${now.rmemDefault} bytes (media's UDP receive buffer)` : 'net.core.rmem_default unknown';
}
