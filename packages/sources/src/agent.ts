import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import { isPrivateAddress } from '@model-manager/core';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * DNS resolution that drops private, loopback, link-local and metadata addresses. The socket
 * connects to an address this function returned, so there is no window between the check and
 * the connection for a rebinding DNS server to slip another address in.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const usable = addresses.filter((a) => !isPrivateAddress(a.address));
    if (usable.length === 0) {
      const refused = addresses.map((a) => a.address).join(', ');
      const error: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to ${refused}: private, loopback or link-local (set ALLOW_PRIVATE_NETWORKS=true to allow)`,
      );
      error.code = 'PRIVATE_ADDRESS';
      return callback(error, []);
    }
    if (options.all) return callback(null, usable);
    callback(null, usable[0]!.address, usable[0]!.family);
  });
}

/** One connection pool per worker process, with the configured connect, header and idle timeouts. */
export function createDownloadAgent(options: {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  allowPrivateNetworks?: boolean;
}): Agent {
  return new Agent({
    connect: {
      timeout: options.connectTimeoutMs,
      ...(options.allowPrivateNetworks ? {} : { lookup: publicOnlyLookup }),
    },
    headersTimeout: options.connectTimeoutMs,
    // undici's bodyTimeout is the gap allowed between two body chunks: exactly a stall detector.
    bodyTimeout: options.idleTimeoutMs,
    connections: 64,
  });
}
