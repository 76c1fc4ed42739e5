import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface ReadinessCheck {
  (): Promise<{ ready: boolean; checks: Record<string, boolean | string | number> }>;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: ReadinessCheck;
  logger: Logger;
}

/**
 * The small HTTP port of the services that have no HTTP API of their own (media, recorder):
 * `/healthz` (the process is up), `/readyz` (it can do work) and `/metrics` (Prometheus).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const { registry, readiness, logger } = options;
  const server = createServer((req, res) => {
    const url = req.url?.split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'method not allowed' } }));
    if (url === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
    if (url === '/readyz') {
      readiness().then(
        (r) => send(r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks })),
        (err: unknown) => {
          logger.warn({ err }, 'readiness check failed');
          send(503, JSON.stringify({ status: 'not-ready' }));
        },
      );
      return;
    }
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (err: unknown) => {
          logger.error({ err }, 'metrics collection failed');
          send(500, '');
        },
      );
      return;
    }
    send(404, JSON.stringify({ error: { code: 'NOT_FOUND', message: 'not found' } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port }, 'ops server listening');
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
