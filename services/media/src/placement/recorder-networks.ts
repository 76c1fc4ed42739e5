import { BlockList, isIP } from 'node:net';
import { ServiceError, type Logger } from '@recstack/service-kit';

/**
 * Where media may send a recording's RTP. The address comes from a recorder's listening reply over NATS;
 * whoever could answer `recorder.v1.start` could otherwise point media's media streams at any host (an
 * amplifier aimed at a victim, or publishers' audio and video sent off-site). Only addresses inside the
 * configured networks (RECORDER_ALLOWED_NETWORKS) get packets.
 */
export const DEFAULT_RECORDER_NETWORKS = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128', 'fc00::/7'] as const;

export class RecorderAddressRefusedError extends ServiceError {
  constructor(recorderId: string, address: string) {
    super('RECORDER_FAILED', `recorder ${recorderId} named ${address} for its RTP, which is outside RECORDER_ALLOWED_NETWORKS`);
  }
}

interface Cidr {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `fc00::/7`, or a single address (`::1`); throws a TypeError naming what is wrong. */
export function parseCidr(text: string): Cidr {
  const [network = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(network);
  if (version === 0 || rest.length > 0) throw new TypeError(`not a network: ${JSON.stringify(text)} (expected an address or address/prefix)`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { network, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw new TypeError(`not a network: ${JSON.stringify(text)} (the prefix must be 0-${max})`);
  return { network, prefix: Number(prefixText), family };
}

export class RecorderNetworks {
  private readonly list = new BlockList();

  /** Comma-separated networks; throws a TypeError on the first one that is not valid. */
  static parse(text: string): RecorderNetworks {
    return new RecorderNetworks(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map(parseCidr),
    );
  }

  private constructor(readonly networks: readonly Cidr[]) {
    for (const n of networks) this.list.addSubnet(n.network, n.prefix, n.family);
  }

  /** Whether a literal IP address is inside one of the networks (IPv4-mapped IPv6 counts as its IPv4). */
  allows(address: string): boolean {
    const version = isIP(address);
    if (version === 0) return false;
    return this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }

  /** Throws (and logs) when media must not send a recorder's RTP to `address`. */
  assertAllowed(address: string, recorderId: string, logger: Logger): void {
    if (this.allows(address)) return;
    logger.warn({ recorderId, address, allowed: this.networks.map((n) => `${n.network}/${n.prefix}`) }, 'recorder address refused');
    throw new RecorderAddressRefusedError(recorderId, address);
  }
}
