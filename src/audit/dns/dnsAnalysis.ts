/** Pure judgement of DNS answers: expectations, disagreement between resolvers, hygiene records. */
import type { Finding } from '../findings.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'CAA'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export type Rcode = 'NOERROR' | 'NODATA' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'TIMEOUT' | 'FAILED';

export interface Answer {
  resolver: string;
  name: string;
  type: RecordType;
  rcode: Rcode;
  /** Normalised, sorted text of each record: "10 mx1.example.", "0 issue letsencrypt.org". */
  values: string[];
  ms: number;
  error: string | null;
}

/** A record as text, comparable across resolvers and with expectations (case, order, trailing dot). */
export function normalizeRecord(type: RecordType, r: unknown): string {
  const host = (h: string) => h.toLowerCase().replace(/\.$/, '');
  switch (type) {
    case 'MX': {
      const m = r as { priority: number; exchange: string };
      return `${m.priority} ${host(m.exchange)}`;
    }
    case 'TXT':
      return (r as string[]).join('');
    case 'CAA': {
      const c = r as Record<string, unknown>;
      const tag = ['issue', 'issuewild', 'iodef'].find((t) => t in c) ?? 'unknown';
      return `${c.critical ?? 0} ${tag} ${String(c[tag] ?? '')}`;
    }
    case 'A':
    case 'AAAA':
      return String(r).toLowerCase();
    default:
      return host(String(r));
  }
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export function analyzeDns(
  answers: Answer[],
  opts: { expect?: Record<string, string[]>; checkHygiene: boolean; names: string[] },
): Finding[] {
  const findings: Finding[] = [];
  const byQuestion = new Map<string, Answer[]>();
  for (const a of answers) {
    const k = `${a.name} ${a.type}`;
    byQuestion.set(k, [...(byQuestion.get(k) ?? []), a]);
  }
  for (const [q, list] of byQuestion) {
    for (const a of list) {
      if (a.rcode === 'NXDOMAIN' && a.type === 'A')
        findings.push({
          id: `dns.nxdomain:${a.name}@${a.resolver}`,
          severity: 'high',
          title: `${a.name} does not exist (NXDOMAIN) at ${a.resolver}`,
          evidence: `${q}: NXDOMAIN in ${a.ms} ms`,
          recommendation:
            'Check the zone (is the record published? the delegation right?), and the spelling.',
        });
      if (['SERVFAIL', 'REFUSED', 'TIMEOUT', 'FAILED'].includes(a.rcode))
        findings.push({
          id: `dns.${a.rcode.toLowerCase()}:${a.name}.${a.type}@${a.resolver}`,
          severity: 'high',
          title: `${a.resolver} failed ${q}: ${a.rcode}`,
          evidence: a.error ?? a.rcode,
          recommendation:
            a.rcode === 'SERVFAIL'
              ? 'SERVFAIL often means broken DNSSEC or unreachable authoritative servers: check with "dig +dnssec" and "dig +trace".'
              : 'Check that the resolver is reachable and allows queries from this host.',
        });
    }
    const ok = list.filter((a) => a.rcode === 'NOERROR' || a.rcode === 'NODATA');
    const first = ok[0];
    const differ = first ? ok.filter((a) => !sameSet(a.values, first.values)) : [];
    if (first && differ.length > 0) {
      findings.push({
        id: `dns.resolvers_disagree:${q.replace(' ', '.')}`,
        severity: 'medium',
        title: `Resolvers disagree on ${q}`,
        evidence: ok.map((a) => `${a.resolver}: ${a.values.join(', ') || '(none)'}`).join('; '),
        recommendation:
          'A recent change still propagating (TTL), split-horizon DNS, or a stale/poisoned cache: compare with the authoritative servers (dig @ns NAME).',
      });
    }
  }
  for (const [key, values] of Object.entries(opts.expect ?? {})) {
    // "name" means its addresses (A and AAAA together); "name TYPE" one record type.
    const [name = '', type] = key.trim().toLowerCase().split(/\s+/) as [string, string | undefined];
    const types = type ? [type.toUpperCase()] : ['A', 'AAAA'];
    const want = [...new Set(values.map((v) => v.trim().toLowerCase().replace(/\.$/, '')))].sort();
    const byResolver = new Map<string, string[]>();
    for (const a of answers) {
      if (a.name !== name || !types.includes(a.type) || (a.rcode !== 'NOERROR' && a.rcode !== 'NODATA'))
        continue;
      byResolver.set(a.resolver, [...(byResolver.get(a.resolver) ?? []), ...a.values]);
    }
    for (const [resolver, got] of byResolver) {
      const have = [...new Set(got)].sort();
      if (sameSet(have, want)) continue;
      findings.push({
        id: `dns.unexpected:${key.trim().replace(/\s+/, '.')}@${resolver}`,
        severity: 'high',
        title: `${key.trim()} at ${resolver} is not what was expected`,
        evidence: `expected ${want.join(', ')}; got ${have.join(', ') || '(none)'}`,
        recommendation:
          'Fix the record at the DNS provider, or update the expectation if the change was intended.',
      });
    }
  }
  if (opts.checkHygiene) {
    for (const name of opts.names) {
      const got = (type: RecordType, n = name) =>
        answers.filter((a) => a.name === n && a.type === type && a.rcode === 'NOERROR');
      const asked = (type: RecordType, n = name) => answers.some((a) => a.name === n && a.type === type);
      if (asked('CAA') && got('CAA').length === 0)
        findings.push({
          id: `dns.no_caa:${name}`,
          severity: 'info',
          title: `${name} has no CAA record`,
          evidence: 'no CAA answer',
          recommendation: `Publish CAA to limit which CAs may issue for ${name}, e.g. ${name}. CAA 0 issue "letsencrypt.org".`,
        });
      if (asked('TXT')) {
        const txt = got('TXT').flatMap((a) => a.values);
        if (!txt.some((t) => /^v=spf1\b/i.test(t)))
          findings.push({
            id: `dns.no_spf:${name}`,
            severity: 'info',
            title: `${name} has no SPF record`,
            evidence: 'no TXT record starting with v=spf1',
            recommendation: `Publish SPF, e.g. "v=spf1 mx -all" (or "v=spf1 -all" if ${name} sends no mail), so others cannot spoof it.`,
          });
        if (
          asked('TXT', `_dmarc.${name}`) &&
          !got('TXT', `_dmarc.${name}`).some((a) => a.values.some((v) => /^v=DMARC1/i.test(v)))
        )
          findings.push({
            id: `dns.no_dmarc:${name}`,
            severity: 'info',
            title: `${name} has no DMARC record`,
            evidence: `no TXT v=DMARC1 at _dmarc.${name}`,
            recommendation: `Publish _dmarc.${name} TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@${name}".`,
          });
      }
    }
  }
  return findings;
}
