/**
 * Which IP addresses an HTTP resource may be connected to. Only public unicast addresses pass;
 * everything the platform itself or its neighbours live on is refused: unspecified, loopback,
 * private (RFC 1918, IPv6 ULA), carrier-grade NAT, link-local, multicast, reserved and
 * documentation ranges, and the cloud metadata endpoints. IPv6 forms that carry an IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address they carry; every
 * IPv6 address outside global unicast (2000::/3) is refused.
 *
 * A resource marked `localDevelopment` (honoured only where the platform allows it) may also reach
 * loopback and private addresses — never metadata, link-local, multicast, unspecified or reserved.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'reserved'
  | 'invalid';

export interface AddressVerdict {
  readonly address: string;
  readonly category: AddressCategory;
  readonly allowed: boolean;
  /** How the category was found, e.g. `IPv4-mapped IPv6`. */
  readonly via?: string;
}

/** Categories a `localDevelopment` resource may reach. */
const LOCAL_DEVELOPMENT: ReadonlySet<AddressCategory> = new Set(['loopback', 'private']);

interface Range {
  readonly prefix: readonly number[];
  readonly bits: number;
  readonly category: AddressCategory;
}

function v4(text: string, bits: number, category: AddressCategory): Range {
  return { prefix: text.split('.').map(Number), bits, category };
}

/** First match wins, so single addresses come before the ranges that hold them. */
const IPV4_RANGES: readonly Range[] = [
  v4('169.254.169.254', 32, 'metadata'), // AWS, GCP, Azure, OpenStack… instance metadata
  v4('169.254.170.2', 32, 'metadata'), // ECS task metadata
  v4('100.100.100.200', 32, 'metadata'), // Alibaba Cloud metadata
  v4('168.63.129.16', 32, 'metadata'), // Azure wire server (a public address)
  v4('0.0.0.0', 8, 'unspecified'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'cgnat'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'reserved'),
  v4('192.0.2.0', 24, 'reserved'),
  v4('192.88.99.0', 24, 'reserved'),
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'reserved'),
  v4('198.51.100.0', 24, 'reserved'),
  v4('203.0.113.0', 24, 'reserved'),
  v4('224.0.0.0', 4, 'multicast'),
  v4('240.0.0.0', 4, 'reserved'),
];

function v6(groups: readonly number[], bits: number, category: AddressCategory): Range {
  const prefix: number[] = [];
  for (const group of groups) prefix.push(group >> 8, group & 0xff);
  while (prefix.length < 16) prefix.push(0);
  return { prefix, bits, category };
}

const IPV6_RANGES: readonly Range[] = [
  v6([0, 0, 0, 0, 0, 0, 0, 0], 128, 'unspecified'),
  v6([0, 0, 0, 0, 0, 0, 0, 1], 128, 'loopback'),
  v6([0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254], 128, 'metadata'), // AWS instance metadata over IPv6
  v6([0x0064, 0xff9b, 0x0001], 48, 'reserved'), // local-use NAT64
  v6([0x0100], 64, 'reserved'), // discard-only
  v6([0x2001, 0x0db8], 32, 'reserved'), // documentation
  v6([0x2001], 23, 'reserved'), // IETF protocol assignments: Teredo, ORCHID, benchmarking…
  v6([0x3fff], 20, 'reserved'), // documentation
  v6([0xfc00], 7, 'private'), // unique local
  v6([0xfe80], 10, 'link-local'),
  v6([0xfec0], 10, 'reserved'), // site-local (deprecated)
  v6([0xff00], 8, 'multicast'),
];

/** IPv6 prefixes whose addresses carry an IPv4 address, and where it sits (byte offset). */
const EMBEDDING: readonly { range: Range; offset: number; via: string }[] = [
  { range: v6([0, 0, 0, 0, 0, 0xffff], 96, 'reserved'), offset: 12, via: 'IPv4-mapped IPv6' },
  { range: v6([0, 0, 0, 0, 0, 0], 96, 'reserved'), offset: 12, via: 'IPv4-compatible IPv6' },
  { range: v6([0x0064, 0xff9b], 96, 'reserved'), offset: 12, via: 'NAT64' },
  { range: v6([0x2002], 16, 'reserved'), offset: 2, via: '6to4' },
];

function matches(bytes: readonly number[], range: Range): boolean {
  let bits = range.bits;
  for (let index = 0; bits > 0; index++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[index] ?? 0) & mask) !== ((range.prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

export function parseIPv4(text: string): number[] | null {
  if (!isIPv4(text)) return null;
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (a zone id is ignored), or null when it is not one. */
export function parseIPv6(input: string): number[] | null {
  const zone = input.indexOf('%');
  let text = zone >= 0 ? input.slice(0, zone) : input;
  if (!isIPv6(text)) return null;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const quad = parseIPv4(tail);
    if (quad === null) return null;
    const [a = 0, b = 0, c = 0, d = 0] = quad;
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => '0'), ...rest];
  const bytes: number[] = [];
  for (const group of groups) {
    const value = Number.parseInt(group, 16);
    if (!/^[0-9a-fA-F]{1,4}$/.test(group) || Number.isNaN(value)) return null;
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

function categoryOf(bytes: readonly number[], ranges: readonly Range[], fallback: AddressCategory) {
  return ranges.find((range) => matches(bytes, range))?.category ?? fallback;
}

function verdict(
  address: string,
  category: AddressCategory,
  localDevelopment: boolean,
  via?: string,
): AddressVerdict {
  const allowed = category === 'public' || (localDevelopment && LOCAL_DEVELOPMENT.has(category));
  return { address, category, allowed, ...(via === undefined ? {} : { via }) };
}

/** Classifies one IP address (never a host name) under the resource's policy. */
export function checkAddress(address: string, options: { localDevelopment?: boolean } = {}): AddressVerdict {
  const local = options.localDevelopment === true;
  const quad = parseIPv4(address);
  if (quad !== null) return verdict(address, categoryOf(quad, IPV4_RANGES, 'public'), local);
  const bytes = parseIPv6(address);
  if (bytes === null) return verdict(address, 'invalid', false);
  if (address.includes('%')) return verdict(address, 'link-local', local, 'IPv6 zone id');
  // The unspecified and loopback addresses sit inside the IPv4-compatible range; judge them first.
  const special = categoryOf(bytes, IPV6_RANGES.slice(0, 2), 'public');
  if (special !== 'public') return verdict(address, special, local);
  for (const { range, offset, via } of EMBEDDING) {
    if (!matches(bytes, range)) continue;
    const embedded = bytes.slice(offset, offset + 4);
    return verdict(address, categoryOf(embedded, IPV4_RANGES, 'public'), local, via);
  }
  const category = categoryOf(bytes, IPV6_RANGES, 'public');
  // Outside global unicast (2000::/3) nothing is routable on the internet.
  if (category === 'public' && ((bytes[0] ?? 0) & 0xe0) !== 0x20) return verdict(address, 'reserved', local);
  return verdict(address, category, local);
}

/** A URL host (`[::1]` included) as an IP address, or null when it is a name. */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIPv4(bare) || isIPv6(bare) ? bare : null;
}
