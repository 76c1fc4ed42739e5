import type { Logger } from './logger.js';

type Closer = () => Promise<void> | void;

/**
 * The process's ownership root. Resources register a closer as they are created; on SIGTERM/SIGINT the
 * service first stops taking work (`onDrain` hooks), then closes everything in reverse order of creation,
 * all within a deadline, and exits.
 */
export class Lifecycle {
  private readonly closers: Array<{ name: string; close: Closer }> = [];
  private readonly drainers: Array<{ name: string; drain: Closer }> = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs: number,
  ) {}

  /** Registers a resource to close on shutdown; resources close in reverse order of registration. */
  own(name: string, close: Closer): void {
    this.closers.push({ name, close });
  }

  /** Registers a hook that stops intake of new work; all drain hooks run (in parallel) before any closer. */
  onDrain(name: string, drain: Closer): void {
    this.drainers.push({ name, drain });
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Installs SIGTERM/SIGINT handlers. A second signal while stopping forces an immediate exit. */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        this.logger.warn({ signal }, 'second signal, exiting now');
        process.exit(1);
      }
      this.logger.info({ signal }, 'shutdown requested');
      void this.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /** Drains, then closes every owned resource in reverse order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.run();
    return this.stopping;
  }

  private async run(): Promise<void> {
    const started = Date.now();
    const timer = setTimeout(() => {
      this.logger.error({ deadlineMs: this.deadlineMs }, 'shutdown deadline passed, exiting');
      process.exit(1);
    }, this.deadlineMs);
    timer.unref();
    await Promise.all(this.drainers.map(({ name, drain }) => this.attempt(name, drain)));
    for (const { name, close } of [...this.closers].reverse()) await this.attempt(name, close);
    clearTimeout(timer);
    this.logger.info({ ms: Date.now() - started }, 'shutdown complete');
  }

  private async attempt(name: string, fn: Closer): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.error({ err, resource: name }, 'close failed');
    }
  }
}
