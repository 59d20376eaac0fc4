/**
 * Which addresses an outbound check may reach. A host is normalised the way a URL parser would
 * (so 2852039166, 0251.0376.0251.0376 and [::ffff:a9fe:a9fe] are all 169.254.169.254), resolved,
 * and every address checked; the caller then connects to the checked address, so nothing can
 * re-resolve to somewhere else between the check and the connect.
 */
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export class SsrfError extends Error {
  override name = 'SsrfError';
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
const cidr = (s: string): Range => ipaddr.parseCIDR(s);

/** Cloud metadata endpoints and link-local: never a target, whatever the configuration says. */
const ALWAYS_DENIED: Array<[Range, string]> = [
  [cidr('169.254.0.0/16'), 'link-local (cloud metadata lives at 169.254.169.254)'],
  [cidr('fe80::/10'), 'IPv6 link-local'],
  [cidr('fd00:ec2::254/128'), 'the AWS IPv6 metadata endpoint'],
  [cidr('100.100.100.200/32'), 'the Alibaba Cloud metadata endpoint'],
  [cidr('0.0.0.0/8'), '"this network" (0.0.0.0/8)'],
  [cidr('::/128'), 'the unspecified address'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('ff00::/8'), 'IPv6 multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'],
];

/** Denied only with OUTBOUND_DENY_PRIVATE=true. */
const PRIVATE: Array<[Range, string]> = [
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('::1/128'), 'loopback'],
  [cidr('10.0.0.0/8'), 'private (RFC 1918)'],
  [cidr('172.16.0.0/12'), 'private (RFC 1918)'],
  [cidr('192.168.0.0/16'), 'private (RFC 1918)'],
  [cidr('100.64.0.0/10'), 'carrier-grade NAT'],
  [cidr('fc00::/7'), 'IPv6 unique local'],
  [cidr('198.18.0.0/15'), 'benchmarking (RFC 2544)'],
  [cidr('192.0.0.0/24'), 'IETF protocol assignments'],
  [cidr('240.0.0.0/4'), 'reserved (240/4)'],
];

const NAT64 = cidr('64:ff9b::/96');
const NAT64_LOCAL = cidr('64:ff9b:1::/48');
const SIX_TO_FOUR = cidr('2002::/16');
const V4_COMPATIBLE = cidr('::/96');
const UNSPECIFIED_OR_LOOPBACK_V6 = cidr('::/127');

/** IPv6 forms that carry an IPv4 address the packets end up at: NAT64, 6to4, IPv4-compatible. */
function embeddedIPv4(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (a.kind() !== 'ipv6') return undefined;
  const b = a.toByteArray();
  const v4 = (o: number) => new ipaddr.IPv4(b.slice(o, o + 4));
  if (inRange(a, NAT64) || inRange(a, NAT64_LOCAL)) return v4(12);
  if (inRange(a, SIX_TO_FOUR)) return v4(2);
  if (inRange(a, V4_COMPATIBLE) && !inRange(a, UNSPECIFIED_OR_LOOPBACK_V6)) return v4(12);
  return undefined;
}

const inRange = (a: ipaddr.IPv4 | ipaddr.IPv6, [net, bits]: Range) =>
  a.kind() === net.kind() && a.match(net as never, bits);

export interface ResolvedTarget {
  /** As the caller named it, normalised (lower case, no brackets). */
  host: string;
  /** The checked address to connect to. */
  address: string;
  family: 4 | 6;
}

/** Resolver answers that mean "no address of this family", as opposed to a failing resolver. */
const NO_ADDRESS_CODES = new Set(['ENOTFOUND', 'ENODATA']);

function describeFailure(code: string): string {
  if (code === 'ETIMEOUT') return 'did not answer in time (ETIMEOUT)';
  if (code === 'ESERVFAIL') return 'answered SERVFAIL (it could not resolve the name)';
  if (code === 'EREFUSED') return 'refused the query (REFUSED)';
  if (code === 'ECONNREFUSED') return 'is not reachable (ECONNREFUSED)';
  return `failed (${code})`;
}

/**
 * Why an address is never a target (cloud metadata, link-local, multicast...), whatever the
 * configuration says; undefined for any other address, private ones included.
 */
export function neverATarget(address: string): string | undefined {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.process(address);
  } catch {
    return `"${address}", which is not an IP address`;
  }
  const inner = embeddedIPv4(a);
  if (inner) {
    const why = neverATarget(inner.toString());
    if (why) return `${a.toString()}, which carries ${why}`;
  }
  const always = ALWAYS_DENIED.find(([r]) => inRange(a, r));
  return always ? `${a.toString()}, ${always[1]}, which is never a target` : undefined;
}

export class SsrfPolicy {
  private readonly allow: Range[];
  private readonly deny: Range[];
  private readonly resolver: Resolver | undefined;

  constructor(
    private readonly opts: {
      denyPrivate: boolean;
      allow: string[];
      deny: string[];
      dnsServers?: string[];
      timeoutMs: number;
    },
  ) {
    const parse = (s: string): Range => {
      if (s.includes('/')) return cidr(s);
      const a = ipaddr.process(s);
      return [a, a.kind() === 'ipv4' ? 32 : 128];
    };
    this.allow = opts.allow.map(parse);
    this.deny = opts.deny.map(parse);
    if (opts.dnsServers && opts.dnsServers.length > 0) {
      this.resolver = new Resolver({ timeout: opts.timeoutMs, tries: 1 });
      this.resolver.setServers(opts.dnsServers);
    }
  }

  /** Normalises a host as a URL parser does; throws SsrfError for something that is no host. */
  static normalizeHost(host: string): string {
    const bare = host.trim();
    const wrapped = bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
    let name: string;
    try {
      name = new URL(`http://${wrapped}/`).hostname;
    } catch {
      throw new SsrfError(`"${host}" is not a valid host name or address`);
    }
    return name.startsWith('[') ? name.slice(1, -1) : name;
  }

  /** Why an address is refused, or undefined when it may be reached. */
  refusal(address: string): string | undefined {
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      a = ipaddr.process(address); // IPv4-mapped IPv6 is judged as the IPv4 it maps
    } catch {
      return `"${address}" is not an IP address`;
    }
    const inner = embeddedIPv4(a);
    if (inner) {
      const why = this.refusal(inner.toString());
      if (why) return `${a.toString()} carries ${inner.toString()}: ${why}`;
    }
    const always = ALWAYS_DENIED.find(([r]) => inRange(a, r));
    if (always) return `${a.toString()} is ${always[1]}, which is never a target`;
    if (this.deny.some((r) => inRange(a, r))) return `${a.toString()} is in OUTBOUND_DENY`;
    if (this.allow.some((r) => inRange(a, r))) return undefined;
    if (this.opts.denyPrivate) {
      const priv = PRIVATE.find(([r]) => inRange(a, r));
      if (priv)
        return `${a.toString()} is ${priv[1]}, refused by OUTBOUND_DENY_PRIVATE=true (allow it with OUTBOUND_ALLOW)`;
    }
    return undefined;
  }

  /**
   * Resolves and checks a host. Every address it resolves to must be allowed: a name that also
   * points at the metadata service is refused as a whole, not reached through its other address.
   */
  async resolve(host: string): Promise<ResolvedTarget> {
    const name = SsrfPolicy.normalizeHost(host);
    let addresses: Array<{ address: string; family: 4 | 6 }>;
    if (ipaddr.isValid(name)) {
      const a = ipaddr.process(name);
      addresses = [{ address: a.toString(), family: a.kind() === 'ipv4' ? 4 : 6 }];
    } else {
      addresses = await this.lookup(name);
      if (addresses.length === 0) throw new SsrfError(`${name} does not resolve to any address`);
    }
    for (const { address } of addresses) {
      const why = this.refusal(address);
      if (why)
        throw new SsrfError(`${host} refused: ${name === address ? '' : `resolves to ${address}; `}${why}`);
    }
    const first = addresses[0] as { address: string; family: 4 | 6 };
    return { host: name, address: ipaddr.process(first.address).toString(), family: first.family };
  }

  private async lookup(name: string): Promise<Array<{ address: string; family: 4 | 6 }>> {
    try {
      if (!this.resolver) {
        // getaddrinfo runs on the libuv thread pool and cannot be cancelled: bound the wait.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })),
            this.opts.timeoutMs,
          );
        });
        const all = await Promise.race([lookup(name, { all: true, verbatim: true }), timeout]).finally(() =>
          clearTimeout(timer),
        );
        return all.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
      }
      // NXDOMAIN and NODATA are answers (no address of that family); a timeout, SERVFAIL or
      // refusal is the resolver failing, which must not read as "does not resolve".
      const failures: string[] = [];
      const settle = async (p: Promise<string[]>) =>
        p.catch((err: NodeJS.ErrnoException) => {
          if (!NO_ADDRESS_CODES.has(err.code ?? '')) failures.push(err.code ?? 'error');
          return [] as string[];
        });
      const [v4, v6] = await Promise.all([
        settle(this.resolver.resolve4(name)),
        settle(this.resolver.resolve6(name)),
      ]);
      // One family answered: use it (an unanswered family cannot add an address we would reach).
      if (v4.length === 0 && v6.length === 0 && failures.length > 0)
        throw new SsrfError(
          `${name} could not be resolved: the DNS_SERVERS resolver ${describeFailure(failures[0] as string)}; check DNS_SERVERS (${(this.opts.dnsServers ?? []).join(', ')}) and that resolver`,
        );
      return [
        ...v4.map((address) => ({ address, family: 4 as const })),
        ...v6.map((address) => ({ address, family: 6 as const })),
      ];
    } catch (err) {
      if (err instanceof SsrfError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new SsrfError(`${name} could not be resolved (${code ?? 'error'})`);
    }
  }
}
