import { DebugEvents, connect, type NatsConnection } from 'nats';
import type { NatsSettings } from './config-loader.js';
import type { Logger } from './logger.js';

/**
 * Connects with unlimited reconnects: a NATS restart is an outage to ride out, not a reason to exit.
 * Connection state changes are logged so an operator sees them.
 */
export async function connectNats(settings: NatsSettings, name: string, logger: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: settings.servers,
    name,
    user: settings.user,
    pass: settings.pass,
    token: settings.token,
    ...(settings.inboxPrefix ? { inboxPrefix: settings.inboxPrefix } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  });
  logger.info({ server: nc.getServer() }, 'nats connected');
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === DebugEvents.PingTimer) continue;
      logger.info({ type: status.type, data: typeof status.data === 'string' ? status.data : undefined }, 'nats status');
    }
  })();
  return nc;
}
