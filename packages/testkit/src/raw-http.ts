import { request } from 'node:http';
import { connect } from 'node:net';

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

export interface LargeBodyOptions {
  method?: string;
  path: string;
  contentType: string;
  /** bytes to send */
  size: number;
  /** stream it chunked with no Content-Length, instead of declaring the length up front */
  chunked?: boolean;
  headers?: Record<string, string>;
}

/**
 * Sends a large body on a plain socket and reads whatever comes back until the connection closes: shows
 * whether a refusal was answered before the close (status line, headers, JSON body) or was a bare reset.
 */
export function sendLargeBody(base: string, options: LargeBodyOptions): Promise<{ status: number; head: string; body: string; error: string | undefined }> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on('close', () => {
      const response = Buffer.concat(chunks).toString('utf8');
      const split = response.indexOf('\r\n\r\n');
      const head = split < 0 ? response : response.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0), head, body: split < 0 ? '' : response.slice(split + 4), error });
    });
    const length = options.chunked ? 'transfer-encoding: chunked' : `content-length: ${options.size}`;
    const extra = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(
      `${options.method ?? 'POST'} ${options.path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: ${options.contentType}\r\n${extra.join('')}${length}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const framed = options.chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
    let sent = 0;
    const pump = () => {
      while (sent < options.size && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(framed)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
}
