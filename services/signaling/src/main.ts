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

  const auth = Object.values(config.tokens).some((t) => t !== undefined);
  if (!auth) {
    const where = { host: config.http.host, requestedHost: config.http.requestedHost };
    if (isLoopbackHost(config.http.host)) logger.warn(where, 'no token set: listening on loopback only, answering loopback Host names and ALLOWED_HOSTS');
    else logger.warn(where, 'no token set: listening without authentication (ALLOW_REMOTE_WITHOUT_TOKEN)');
  }
  if (auth && config.mediaUrls.secret === undefined)
    logger.warn('MEDIA_URL_SECRET not set: media URLs are signed with a random key of this process; instances behind one name must share a secret');
  logger.info({ url: signaling.url, recordingsDir: config.recordingsDir, auth, webhook: config.webhook !== undefined }, 'service ready');
}

main().catch((err: unknown) => {
  // config errors and a NATS server that cannot be reached end here: say why, exit non-zero
  createLogger('signaling').fatal({ err }, 'service failed to start');
  process.exit(1);
});
