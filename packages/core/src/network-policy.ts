import { BlockList, isIP } from 'node:net';

/**
 * Where downloads may come from. The service fetches URLs that callers name onto a volume that
 * GPU workers load code-bearing files from: left open it is a server-side request forgery tool
 * (cloud metadata at 169.254.169.254, Redis on localhost, the office network) and a way to plant
 * files. So only listed hosts, and no private address unless allowed, on every redirect hop.
 */
export interface NetworkPolicy {
  /** Host patterns: `huggingface.co` (that host), `*.hf.co` (any subdomain), `*` (any host). */
  allowedHosts: readonly string[];
  /** Loopback, private, link-local, metadata and unique-local addresses allowed too. */
  allowPrivateNetworks: boolean;
}

/**
 * Hugging Face and Civitai, and the storage hosts their download URLs redirect to: Hugging Face's
 * LFS and Xet CDNs (cdn-lfs*.huggingface.co, cas-bridge.xethub.hf.co), Civitai's Cloudflare R2
 * delivery bucket and its Backblaze B2 storage.
 */
export const DEFAULT_ALLOWED_HOSTS = [
  'huggingface.co',
  '*.huggingface.co',
  'hf.co',
  '*.hf.co',
  'civitai.com',
  '*.civitai.com',
  'civitai.red',
  '*.civitai.red',
  'civitai-delivery-worker-prod.*.r2.cloudflarestorage.com',
  '*.backblazeb2.com',
] as const;

/** Lower case, no trailing dot, no IPv6 brackets: the form patterns are compared with. */
export function normalHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
}

/**
 * Does `hostname` match one of `patterns`? A leading `*.` matches one or more labels (not the
 * bare domain), `*` elsewhere matches exactly one label, and `*` alone matches every host.
 */
export function hostAllowed(hostname: string, patterns: readonly string[]): boolean {
  const host = normalHost(hostname);
  return patterns.some((raw) => {
    const pattern = normalHost(raw.trim());
    if (pattern === '*') return true;
    if (pattern.startsWith('*.')) {
      const rest = pattern.slice(2).split('.');
      const labels = host.split('.');
      return labels.length > rest.length && labels[0] !== '' && matchLabels(labels.slice(-rest.length), rest);
    }
    return matchLabels(host.split('.'), pattern.split('.'));
  });
}

function matchLabels(host: string[], pattern: string[]): boolean {
  return (
    host.length === pattern.length && pattern.every((label, i) => (label === '*' ? host[i] !== '' : label === host[i]))
  );
}

const privateRanges = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['::', 96], // IPv4-compatible (deprecated): embeds an IPv4 address
  ['::ffff:0:0:0', 96], // SIIT: embeds an IPv4 address
  ['64:ff9b::', 96], // NAT64: embeds an IPv4 address
  ['64:ff9b:1::', 48], // NAT64, local use
  ['2001::', 32], // Teredo: embeds an IPv4 address
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fec0::', 10], // site-local (deprecated)
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv6');
}

/** Is this IP address (v4 or v6, IPv4-mapped forms included) one the public internet does not route? */
export function isPrivateAddress(address: string): boolean {
  const ip = normalHost(address).replace(/%.*$/, ''); // zone index (fe80::1%eth0)
  const family = isIP(ip);
  if (family === 4) return privateRanges.check(ip, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse rather than guess
  const mapped =
    /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return privateRanges.check(mapped[1]!, 'ipv4');
  const hexMapped = /^(?:0{0,4}:){0,5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip.replace(/^::/, '0:0:0:0:0:'));
  if (hexMapped) {
    const hi = parseInt(hexMapped[1]!, 16);
    const lo = parseInt(hexMapped[2]!, 16);
    return privateRanges.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return privateRanges.check(ip, 'ipv6');
}

export type SourceRefusal = { code: 'HOST_NOT_ALLOWED' | 'PRIVATE_ADDRESS'; message: string };

/**
 * Checks what can be checked without DNS: the scheme, the host against the list, and a host
 * written as an IP address. Names are checked again after DNS, at connect time, by the worker.
 */
export function checkSourceUrl(url: string, policy: NetworkPolicy): SourceRefusal | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { code: 'HOST_NOT_ALLOWED', message: 'not a URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { code: 'HOST_NOT_ALLOWED', message: `${parsed.protocol} URLs are not fetched (http and https only)` };
  }
  const host = normalHost(parsed.hostname);
  if (!hostAllowed(host, policy.allowedHosts)) {
    return { code: 'HOST_NOT_ALLOWED', message: `host ${host} is not in ALLOWED_HOSTS` };
  }
  if (isIP(host) && !policy.allowPrivateNetworks && isPrivateAddress(host)) {
    return {
      code: 'PRIVATE_ADDRESS',
      message: `${host} is a private, loopback or link-local address (set ALLOW_PRIVATE_NETWORKS=true to allow)`,
    };
  }
  return null;
}
