import { connectNats, createLogger, Lifecycle } from '@recstack/service-kit';
import { isLoopbackHost, loadConfig } from './config.js';
import { startSignaling } from './signaling.js';

/** Wires signaling: config, logger, NATS, the HTTP server; SIGTERM/SIGINT drain and close it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('signaling', config.logLevel);
  const lifecycle = new Lifecycle(logger, config.shutdownTimeoutMs);
  lifecycle.handleSignals();

  const nc = await connectNats(config.nats, 'signaling', logger);
  lifecycle.own('nats', () => nc.drain());

  const signaling = await startSignaling(config, nc, logger);
  lifecycle.onDrain('http', () => signaling.drain());
  lifecycle.own('http', () => signaling.close(config.shutdownTimeoutMs - 2000));

  if (config.apiToken === undefined) {
    const where = { host: config.http.host, requestedHost: config.http.requestedHost };
    if (isLoopbackHost(config.http.host)) logger.warn(where, 'no API_TOKEN set: listening on loopback only');
    else logger.warn(where, 'no API_TOKEN set: listening without authentication (ALLOW_REMOTE_WITHOUT_TOKEN)');
  }
  logger.info({ url: signaling.url, recordingsDir: config.recordingsDir, auth: config.apiToken !== undefined, webhook: config.webhook !== undefined }, 'service ready');
}

main().catch((err: unknown) => {
  // config errors and a NATS server that cannot be reached end here: say why, exit non-zero
  createLogger('signaling').fatal({ err }, 'service failed to start');
  process.exit(1);
});
