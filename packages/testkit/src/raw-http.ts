import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request with the path and headers exactly as given: fetch and URL resolve dot segments and
 * forbid a Host header, which the tests of URL spellings and Host checks need to send as an attacker would.
 * `localAddress` (another loopback address, e.g. 127.0.5.1) makes it another client for per-address limits.
 */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; localAddress?: string } = {},
): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const target = { host: url.hostname, port: url.port, method, path, headers: options.headers, agent: false, localAddress: options.localAddress };
    const req = request(target, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // a WebSocket handshake that was accepted: the status is all a test needs
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
