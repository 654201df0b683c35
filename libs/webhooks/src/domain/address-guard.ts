import { BlockList, isIP } from 'node:net';

/**
 * Which addresses an outbound webhook may reach (SSRF guard). Node's `net.BlockList` does the
 * prefix matching, IPv4-mapped IPv6 (`::ffff:a.b.c.d`) checked against the IPv4 ranges
 * included: well-tested code in the runtime, not hand-rolled bit math, and no dependency.
 */
const REFUSED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved (IETF protocol assignments)'],
  ['192.0.2.0', 24, 'reserved (documentation)'],
  ['192.88.99.0', 24, 'reserved (6to4 relay)'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'reserved (documentation)'],
  ['203.0.113.0', 24, 'reserved (documentation)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (broadcast included)'],
];

const REFUSED_V6: [string, number, string][] = [
  // ::/96 holds :: (unspecified), ::1 is below; IPv4-compatible ::a.b.c.d addresses are deprecated.
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved (IPv4-compatible)'],
  // IPv4 translation and tunnelling prefixes embed an IPv4 address a gateway would reach for us.
  ['64:ff9b::', 96, 'reserved (NAT64)'],
  ['64:ff9b:1::', 48, 'reserved (local NAT64)'],
  ['100::', 64, 'reserved (discard)'],
  ['2001::', 32, 'reserved (Teredo)'],
  ['2001:db8::', 32, 'reserved (documentation)'],
  ['2002::', 16, 'reserved (6to4)'],
  ['fc00::', 7, 'private (unique local)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'reserved (site-local)'],
  ['ff00::', 8, 'multicast'],
];

/** One BlockList per reason, so a refusal says which range it hit. */
const LISTS: { list: BlockList; reason: string }[] = [...REFUSED_V4, ...REFUSED_V6].map(([net, prefix, reason]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, isIP(net) === 6 ? 'ipv6' : 'ipv4');
  return { list, reason: `${net}/${prefix} ${reason}` };
});

/** Why this IP address may not be called, or null when it is a public unicast address. */
export function refusedAddressReason(address: string): string | null {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  const type = family === 6 ? 'ipv6' : 'ipv4';
  // BlockList matches an IPv4-mapped IPv6 address (::ffff:10.0.0.1) against the IPv4 ranges too.
  for (const { list, reason } of LISTS) if (list.check(bare, type)) return reason;
  return null;
}

/** `localhost`, `*.localhost` (RFC 6761), with or without the trailing dot. */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

export const MAX_URL_LENGTH = 2048;

export type UrlCheck = { ok: true; url: URL; host: string; literal: boolean } | { ok: false; reason: string };

/**
 * The shape an endpoint URL must have before any lookup: absolute http(s), at most 2,048
 * characters, no user or password, and (unless private addresses are allowed) not a localhost
 * name or a refused IP literal. The WHATWG parser normalizes the host first (`0177.0.0.1`,
 * `2130706433` and `[0:0::1]` are read as the addresses they are).
 */
export function checkUrlShape(raw: string, allowPrivate: boolean): UrlCheck {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: `the URL is longer than ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'only http and https URLs are allowed' };
  if (url.username || url.password) return { ok: false, reason: 'the URL may not carry credentials' };
  if (!url.hostname) return { ok: false, reason: 'the URL has no host' };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literal = isIP(host) !== 0;
  if (!allowPrivate) {
    if (isLocalhostName(host)) return { ok: false, reason: `${host} is a localhost name` };
    if (literal) {
      const reason = refusedAddressReason(host);
      if (reason) return { ok: false, reason: `${host} is in ${reason}` };
    }
  }
  return { ok: true, url, host, literal };
}

/** The first refused address of a lookup's answers (every one is checked: one bad answer refuses the host). */
export function refusedResolution(host: string, addresses: readonly string[]): string | null {
  if (addresses.length === 0) return `${host} does not resolve`;
  for (const address of addresses) {
    const reason = refusedAddressReason(address);
    if (reason) return `${host} resolves to ${address}, in ${reason}`;
  }
  return null;
}
