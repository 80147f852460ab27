/**
 * Whether a host's DNS points at the platform yet: the check that gates provisioning a host at the
 * edge. A CloudFront tenant with a managed certificate is refused until its domain resolves to the
 * connection group, so the platform looks first, through a resolver port, and tells the operator
 * exactly what is missing.
 *
 * - `RoutingEndpointVerifier` (AWS): the host's CNAME chain must reach the routing endpoint, or —
 *   for an apex name served by an ALIAS/ANAME record, which has no CNAME — its addresses must be
 *   among the endpoint's. Where CloudFront will request a managed certificate, CAA records that
 *   forbid Amazon's CA are reported too: the one validation record a customer may have to add.
 * - `LoopbackVerifier` (local): `*.localhost` names always reach this machine; any other name must
 *   resolve (hosts file included) to a loopback address.
 *
 * The resolver is a port (`DnsLookup`) so tests drive the real code path against a stub DNS server
 * on loopback (`nodeDnsLookup({ servers })`) and the local platform uses the system's.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

/** What a DNS answer says for one question. Absent records are `[]`; a name that does not exist is `nxdomain`. */
export interface DnsLookup {
  cname(name: string): Promise<readonly string[] | 'nxdomain'>;
  addresses(name: string): Promise<readonly string[] | 'nxdomain'>;
  caa(name: string): Promise<readonly CaaRecord[] | 'nxdomain'>;
}

export interface CaaRecord {
  readonly critical: number;
  readonly tag: string;
  readonly value: string;
}

/** The resolver could not answer (timeout, SERVFAIL, refused): try again later. */
export class DnsUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnsUnavailableError';
  }
}

export type DnsVerdict =
  | { readonly ok: true; readonly via: 'cname' | 'address' | 'loopback' }
  | {
      readonly ok: false;
      /** `dns-missing`: no record yet; `dns-elsewhere`: points somewhere else; `caa-refuses`; `dns-unavailable`: try later. */
      readonly code: 'dns-missing' | 'dns-elsewhere' | 'caa-refuses' | 'dns-unavailable';
      readonly reason: string;
    };

export interface DnsVerifier {
  /** Whether `host` reaches the platform; `managedCertificate`: also check CAA allows Amazon's CA. */
  verify(host: string, options: { readonly managedCertificate: boolean }): Promise<DnsVerdict>;
}

/** Most CNAME hops followed before a chain is called a loop. */
export const MAX_CNAME_HOPS = 8;

/** CAA `issue` values that let ACM issue (the CA identities Amazon documents for ACM). */
export const AMAZON_CAA_ISSUERS: readonly string[] = [
  'amazon.com',
  'amazontrust.com',
  'awstrust.com',
  'amazonaws.com',
];

function canonicalName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

/** Node's resolver (c-ares) behind the port; `servers` points it at chosen name servers (tests: a stub on loopback). */
export function nodeDnsLookup(
  options: { readonly servers?: readonly string[]; readonly timeoutMs?: number } = {},
) {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 3000, tries: 2 });
  if (options.servers !== undefined) resolver.setServers([...options.servers]);
  async function ask<T>(question: () => Promise<T[]>, name: string): Promise<T[] | 'nxdomain'> {
    try {
      return await question();
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENODATA') return [];
      if (code === 'ENOTFOUND') return 'nxdomain';
      throw new DnsUnavailableError(`DNS could not answer for ${name} (${code || 'error'})`, {
        cause: error,
      });
    }
  }
  const lookup: DnsLookup = {
    cname: (name) => ask(() => resolver.resolveCname(name), name),
    addresses: async (name) => {
      const v4 = await ask(() => resolver.resolve4(name), name);
      const v6 = await ask(() => resolver.resolve6(name), name);
      if (v4 === 'nxdomain' && v6 === 'nxdomain') return 'nxdomain';
      return [...(v4 === 'nxdomain' ? [] : v4), ...(v6 === 'nxdomain' ? [] : v6)];
    },
    caa: (name) =>
      ask(
        async () =>
          (await resolver.resolveCaa(name)).map((record) => ({
            critical: record.critical,
            tag: Object.keys(record).find((key) => key !== 'critical') ?? '',
            value: String(Object.entries(record).find(([key]) => key !== 'critical')?.[1] ?? ''),
          })),
        name,
      ),
  };
  return lookup;
}

/** The system's own name resolution (getaddrinfo: the hosts file included), for the local platform. */
export function systemAddressLookup(): Pick<DnsLookup, 'addresses'> {
  return {
    addresses: async (name) => {
      try {
        return (await dns.lookup(name, { all: true, verbatim: true })).map((entry) => entry.address);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_NONAME') return 'nxdomain';
        throw new DnsUnavailableError(`Name resolution failed for ${name} (${code || 'error'})`, {
          cause: error,
        });
      }
    },
  };
}

export interface RoutingEndpointVerifierOptions {
  readonly lookup: DnsLookup;
  /** The connection group's routing endpoint (e.g. `d111111abcdef8.cloudfront.net`). */
  readonly target: string;
}

export class RoutingEndpointVerifier implements DnsVerifier {
  readonly #lookup: DnsLookup;
  readonly #target: string;

  constructor(options: RoutingEndpointVerifierOptions) {
    this.#lookup = options.lookup;
    this.#target = canonicalName(options.target);
  }

  async verify(host: string, options: { readonly managedCertificate: boolean }): Promise<DnsVerdict> {
    try {
      const routed = await this.#routes(canonicalName(host));
      if (!routed.ok || !options.managedCertificate) return routed;
      const caa = await this.#caaRefusal(canonicalName(host));
      return caa ?? routed;
    } catch (error) {
      if (error instanceof DnsUnavailableError) {
        return {
          ok: false,
          code: 'dns-unavailable',
          reason: `${error.message}; it is checked again shortly`,
        };
      }
      throw error;
    }
  }

  async #routes(host: string): Promise<DnsVerdict> {
    const chain: string[] = [];
    let name = host;
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const answer = await this.#lookup.cname(name);
      if (answer === 'nxdomain') {
        return hop === 0
          ? {
              ok: false,
              code: 'dns-missing',
              reason: `${host} does not exist in DNS yet: create CNAME ${host} → ${this.#target}`,
            }
          : {
              ok: false,
              code: 'dns-elsewhere',
              reason: `${host} → ${chain.join(' → ')} ends in a name that does not exist; point it at ${this.#target}`,
            };
      }
      const next = answer[0];
      if (next === undefined) break;
      const canonical = canonicalName(next);
      chain.push(canonical);
      if (canonical === this.#target) return { ok: true, via: 'cname' };
      name = canonical;
    }
    if (chain.length >= MAX_CNAME_HOPS) {
      return {
        ok: false,
        code: 'dns-elsewhere',
        reason: `${host} has a CNAME chain longer than ${MAX_CNAME_HOPS} hops`,
      };
    }
    // No CNAME (an apex name with an ALIAS/ANAME record, or plain A/AAAA records): compare addresses.
    const hostAddresses = await this.#lookup.addresses(name);
    if (hostAddresses === 'nxdomain' || hostAddresses.length === 0) {
      return chain.length === 0
        ? {
            ok: false,
            code: 'dns-missing',
            reason: `${host} has no CNAME record yet: create CNAME ${host} → ${this.#target}`,
          }
        : { ok: false, code: 'dns-elsewhere', reason: `${host} → ${chain.join(' → ')}, not ${this.#target}` };
    }
    const targetAddresses = await this.#lookup.addresses(this.#target);
    const known = new Set(targetAddresses === 'nxdomain' ? [] : targetAddresses);
    if (hostAddresses.some((address) => known.has(address))) return { ok: true, via: 'address' };
    const seen = chain.length === 0 ? hostAddresses.slice(0, 4).join(', ') : chain.join(' → ');
    return {
      ok: false,
      code: 'dns-elsewhere',
      reason: `${host} points at ${seen}, not ${this.#target}: make it a CNAME to ${this.#target} (ALIAS/ANAME at a zone apex)`,
    };
  }

  /** The closest CAA record set above the host; a refusal when it lets no Amazon CA issue. */
  async #caaRefusal(host: string): Promise<DnsVerdict | null> {
    const labels = host.split('.');
    for (let start = 0; start < labels.length - 1; start++) {
      const name = labels.slice(start).join('.');
      const records = await this.#lookup.caa(name);
      if (records === 'nxdomain' || records.length === 0) continue;
      const issuers = records
        .filter((record) => record.tag === 'issue' || record.tag === 'issuewild')
        .map((record) => canonicalName(record.value.split(';')[0] ?? ''));
      if (issuers.length === 0) return null;
      if (issuers.some((issuer) => AMAZON_CAA_ISSUERS.includes(issuer))) return null;
      return {
        ok: false,
        code: 'caa-refuses',
        reason: `CAA records on ${name} let only ${issuers.join(', ')} issue certificates: add CAA 0 issue "amazon.com" on ${name}`,
      };
    }
    return null;
  }
}

function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1' || address.startsWith('::ffff:127.');
}

/** The local platform: a host reaches it when it resolves to this machine. */
export class LoopbackVerifier implements DnsVerifier {
  readonly #lookup: Pick<DnsLookup, 'addresses'>;

  constructor(lookup: Pick<DnsLookup, 'addresses'> = systemAddressLookup()) {
    this.#lookup = lookup;
  }

  async verify(host: string): Promise<DnsVerdict> {
    const name = canonicalName(host);
    // Browsers and curl resolve every *.localhost name to loopback (RFC 6761), whatever DNS says.
    if (name === 'localhost' || name.endsWith('.localhost')) return { ok: true, via: 'loopback' };
    try {
      const addresses = await this.#lookup.addresses(name);
      if (addresses !== 'nxdomain' && addresses.length > 0 && addresses.every(isLoopback)) {
        return { ok: true, via: 'loopback' };
      }
      return {
        ok: false,
        code: addresses === 'nxdomain' || addresses.length === 0 ? 'dns-missing' : 'dns-elsewhere',
        reason: `${name} does not resolve to this machine: use a *.localhost name, or map ${name} to 127.0.0.1 (e.g. in /etc/hosts)`,
      };
    } catch (error) {
      if (error instanceof DnsUnavailableError)
        return { ok: false, code: 'dns-unavailable', reason: error.message };
      throw error;
    }
  }
}
