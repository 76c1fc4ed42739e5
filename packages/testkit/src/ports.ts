import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when a UDP port can be bound on the address right now. */
export function udpPortFree(port: number, address = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, address, () => socket.close(() => resolve(true)));
  });
}

export interface PortRange {
  min: number;
  max: number;
}

/**
 * A block of `size` consecutive UDP ports, all free, starting at a random place in [min, max): test
 * runs on a shared machine must not collide with each other. `avoid`: ranges already handed out (free
 * too, as nothing is bound yet) that the block must not overlap, e.g. media's range for its recorder ports.
 */
export async function freeUdpRange(size: number, min = 20000, max = 60000, avoid: readonly PortRange[] = []): Promise<PortRange> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = min + 2 * Math.floor((Math.random() * (max - min - size)) / 2);
    const block = { min: start, max: start + size - 1 };
    if (avoid.some((r) => block.min <= r.max && r.min <= block.max)) continue;
    const checks = await Promise.all(Array.from({ length: size }, (_, i) => udpPortFree(start + i)));
    if (checks.every(Boolean)) return block;
  }
  throw new Error(`no free block of ${size} UDP ports found`);
}
