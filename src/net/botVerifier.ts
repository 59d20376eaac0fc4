/**
 * Verifies that an IP claiming to be a search engine's crawler really is one, the way the
 * engines document it: reverse DNS to a host in the engine's domain, then forward DNS of that
 * host back to the same IP. Through the resilience layer (breaker per resolver set), with a cache.
 */
import { Resolver } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { VerifyOutcome } from '../audit/bots/analyzer.js';
import { VERIFIABLE_ENGINES } from '../audit/bots/classify.js';
import { BreakerOpenError, type Resilience } from '../resilience/resilience.js';

export type { Verdict, VerifyOutcome } from '../audit/bots/analyzer.js';

/** Definitive DNS answers: the name does not exist, or has no such record. Not failures of DNS. */
const ANSWERS = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);
const isAnswer = (err: unknown) => ANSWERS.has((err as NodeJS.ErrnoException).code ?? '');

const CACHE_TTL_MS = 6 * 3600_000;
const CACHE_MAX = 10_000;

export class BotVerifier {
  private readonly resolver: Resolver;
  private readonly target: string;
  private readonly cache = new Map<string, { at: number; outcome: VerifyOutcome }>();

  constructor(
    private readonly resilience: Resilience,
    opts: { servers?: string[]; timeoutMs: number },
  ) {
    // One try per query here: retries belong to the resilience layer, which also counts failures.
    this.resolver = new Resolver({ timeout: opts.timeoutMs, tries: 1 });
    if (opts.servers && opts.servers.length > 0) this.resolver.setServers(opts.servers);
    this.target = this.resolver.getServers().join(',');
  }

  /** Whether DNS is answering at all (the breaker is not open). */
  get available(): boolean {
    return this.resilience.state('dns', this.target) !== 'open';
  }

  async verify(rawIp: string, engine: string): Promise<VerifyOutcome> {
    // ::ffff:66.249.66.1 is 66.249.66.1: compare and look up in one canonical form.
    let ip: string;
    try {
      ip = ipaddr.process(rawIp).toString();
    } catch {
      return { verdict: 'failed', detail: `${rawIp} is not an IP address` };
    }
    const key = `${engine}|${ip}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.outcome;
    const outcome = await this.check(ip, engine);
    // Unknown is not cached: DNS may answer next time.
    if (outcome.verdict !== 'unknown') {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, { at: Date.now(), outcome });
    }
    return outcome;
  }

  private async check(ip: string, engine: string): Promise<VerifyOutcome> {
    const domains = VERIFIABLE_ENGINES.find((e) => e.name === engine)?.domains ?? [];
    try {
      let hosts: string[];
      try {
        // resolvePtr, not reverse(): reverse() reports a timeout as ENOTFOUND, which would brand a
        // real crawler a fake whenever DNS is down.
        hosts = await this.resilience.guarded(
          'dns',
          this.target,
          () => this.resolver.resolvePtr(arpaName(ip)),
          { isAnswer },
        );
      } catch (err) {
        if (isAnswer(err)) return { verdict: 'failed', detail: `${ip} has no reverse DNS name` };
        throw err;
      }
      const host = hosts
        .map((h) => h.toLowerCase().replace(/\.$/, ''))
        .find((h) => domains.some((d) => h === d || h.endsWith(`.${d}`)));
      if (!host)
        return {
          verdict: 'failed',
          detail: `reverse DNS ${hosts.join(', ') || '(none)'} is not in ${domains.join(', ')}`,
        };
      const family = ip.includes(':') ? 'AAAA' : 'A';
      let addrs: string[];
      try {
        addrs = await this.resilience.guarded(
          'dns',
          this.target,
          () => (family === 'A' ? this.resolver.resolve4(host) : this.resolver.resolve6(host)),
          { isAnswer },
        );
      } catch (err) {
        if (isAnswer(err)) return { verdict: 'failed', detail: `${host} has no ${family} record` };
        throw err;
      }
      return addrs.includes(ip)
        ? { verdict: 'verified', detail: host }
        : { verdict: 'failed', detail: `${host} resolves to ${addrs.join(', ')}, not ${ip}` };
    } catch (err) {
      const why =
        err instanceof BreakerOpenError
          ? err.message
          : `DNS ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      return { verdict: 'unknown', detail: why };
    }
  }
}

/** The in-addr.arpa or ip6.arpa name to ask for an address's PTR record. */
export function arpaName(ip: string): string {
  const a = ipaddr.process(ip);
  if (a.kind() === 'ipv4') return `${a.toByteArray().reverse().join('.')}.in-addr.arpa`;
  const nibbles = a
    .toByteArray()
    .flatMap((b) => [b >> 4, b & 15])
    .map((n) => n.toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}
