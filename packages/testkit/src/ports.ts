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

/**
 * A block of `size` consecutive UDP ports, all free, starting at a random place in [min, max): test
 * runs on a shared machine must not collide with each other.
 */
export async function freeUdpRange(size: number, min = 20000, max = 60000): Promise<{ min: number; max: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = min + 2 * Math.floor((Math.random() * (max - min - size)) / 2);
    const checks = await Promise.all(Array.from({ length: size }, (_, i) => udpPortFree(start + i)));
    if (checks.every(Boolean)) return { min: start, max: start + size - 1 };
  }
  throw new Error(`no free block of ${size} UDP ports found`);
}
