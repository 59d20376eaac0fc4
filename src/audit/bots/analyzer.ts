/**
 * Aggregates parsed log entries per client in bounded memory (it grows with distinct IPs, not
 * lines), then scores each IP, finds clusters and builds block recommendations. Pure: no I/O.
 */
import { blockRecommendations, type BlockRecommendations, canonicalAddress, subnetOf } from './blockRules.js';
import { CLIENT_CLASSES, type ClientClass, UaClassifier } from './classify.js';
import type { ErrorEvent, LogEntry } from '../logs/logFormat.js';
import { DEFAULT_MAX_POINTS, TimelineBuilder, type TrafficTimeline } from './trafficTimeline.js';

export type Verdict = 'verified' | 'failed' | 'unknown';
export interface VerifyOutcome {
  verdict: Verdict;
  detail: string;
}
import { LOGIN_PATH, probeOf } from './sensitivePaths.js';
import { type AttackFamily, matchHeader, matchRequest, type SignatureHit } from './signatures.js';

export const THREAT_LEVELS = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type ThreatLevel = (typeof THREAT_LEVELS)[number];

export interface Reason {
  id: string;
  points: number;
  evidence: string;
  /** For attack reasons: the id of the signature the request matched (e.g. "iis.nimda", "sqli.union_select"). */
  signature?: string;
}

/** What one IP sent of one attack family. */
interface AttackState {
  count: number;
  strength: SignatureHit['strength'];
  /** Distinct signature ids, at most MAX_SIGNATURES_PER_FAMILY. */
  signatures: string[];
  /** The first matching request, as evidence: method, target (cut) and status. */
  example: string;
  /** The first request of the family answered 2xx where that means it may have worked. */
  success: string | null;
  /**
   * Attempts seen in error logs. Counted apart: the same request is often in the access log
   * too, so a family's attempts are the larger of the two counts, never their sum.
   */
  fromErrors: number;
}

/** Per-IP state; every collection in it is capped. */
interface ClientState {
  requests: number;
  bytes: number;
  errors: number;
  loginPosts: number;
  first: number;
  last: number;
  minute: number;
  minuteCount: number;
  peakPerMinute: number;
  userAgents: Map<string, number>;
  uaOverflow: number;
  /** Distinct browser-looking UAs: a bot cycling its own declared UAs (Googlebot does) is no disguise. */
  browserUas: number;
  probes: Map<string, { count: number; example: string; fromErrors: number }>;
  classes: Set<ClientClass>;
  claimsEngine: string | null;
  emptyUa: boolean;
  scannerUa: string | null;
  domains: Set<string>;
  /** Attack signatures matched, by family (at most one entry per family, so bounded). */
  attacks: Map<AttackFamily, AttackState>;
  /** From error logs: failed logins (a wrong password or user), requests a rate limit refused. */
  authFailures: number;
  rateLimited: number;
  /** The last WAF transaction id seen: ModSecurity writes one line per matched rule. */
  lastWafTx: string | null;
}

const MAX_UAS_PER_IP = 20;
const MAX_SIGNATURES_PER_FAMILY = 5;
/** Evidence keeps this much of a request target: enough to recognise it, not a flood of text. */
const EVIDENCE_TARGET = 200;
/** Distinct clients tracked (~1 KB each); past this, new ones are counted as skipped, not kept. */
export const MAX_CLIENTS = 250_000;
const MAX_DOMAINS_PER_IP = 10;
/** Counting maps for top paths/UAs: past this, entries seen once are dropped (approximate tops). */
const MAX_COUNTERS = 50_000;

export interface ClientReport {
  ip: string;
  requests: number;
  bytes: number;
  errorPercent: number;
  peakPerMinute: number;
  classification: ClientClass;
  botName: string | null;
  userAgents: string[];
  threatScore: number;
  threatLevel: ThreatLevel;
  reasons: Reason[];
  /** For UAs claiming a search engine: the reverse+forward DNS check's verdict. */
  verified: 'not_claimed' | Verdict;
  /** The PTR host that verified it, or why it failed or is unknown. */
  verification: string | null;
  allowlisted: boolean;
  firstSeen: string | null;
  lastSeen: string | null;
}

export interface Cluster {
  kind: 'shared_user_agent' | 'subnet';
  fingerprint: string;
  ips: string[];
  ipCount: number;
  requests: number;
  traits: string[];
  threatLevel: ThreatLevel;
}

export interface AnalyzerOptions {
  isAllowed: (ip: string, ua: string) => boolean;
  domains?: string[];
  since?: number;
  until?: number;
  /** The clock (ms) for the traffic chart: without `until`, times from now + 1 day on are left out. */
  now?: number;
  /** Distinct clients tracked; MAX_CLIENTS unless set (tests reach the cap with fewer). */
  maxClients?: number;
}

class Counter {
  readonly map = new Map<string, number>();
  add(key: string, n = 1): void {
    this.map.set(key, (this.map.get(key) ?? 0) + n);
    if (this.map.size > MAX_COUNTERS) this.prune();
  }
  /**
   * Drops the rarest keys down to 80% of the cap, so a prune always frees room (dropping only
   * count-1 keys could free nothing and run again on every add). Tops become approximate.
   */
  private prune(): void {
    const counts = [...this.map.values()].sort((a, b) => a - b);
    const cut = counts[this.map.size - Math.floor(MAX_COUNTERS * 0.8)] ?? 0;
    let excess = this.map.size - Math.floor(MAX_COUNTERS * 0.8);
    for (const [k, v] of this.map) {
      if (excess <= 0) break;
      if (v <= cut) {
        this.map.delete(k);
        excess--;
      }
    }
  }
  top(n: number): Array<{ key: string; count: number }> {
    return [...this.map]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, n)
      .map(([key, count]) => ({ key, count }));
  }
}

interface DomainState {
  requests: number;
  bytes: number;
  status: Record<string, number>;
  ips: Set<string>;
  botRequests: number;
}

export class BotAnalyzer {
  private readonly clients = new Map<string, ClientState>();
  private readonly ua = new UaClassifier();
  /** Header payload verdicts by value (UAs repeat); cleared when full, like the UA cache. */
  private readonly headerHits = new Map<string, SignatureHit | null>();
  private readonly requestHits = new Map<string, SignatureHit | null>();
  private readonly paths = new Counter();
  private readonly agents = new Counter();
  private readonly status: Record<string, number> = {};
  private readonly classRequests = Object.fromEntries(CLIENT_CLASSES.map((c) => [c, 0])) as Record<
    ClientClass,
    number
  >;
  private readonly domainStats = new Map<string, DomainState>();
  private readonly timeline = new Map<number, number>();
  private readonly traffic: TimelineBuilder;
  readonly skipped: Record<string, number> = {};
  requests = 0;
  bytes = 0;
  first = Number.POSITIVE_INFINITY;
  last = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: AnalyzerOptions) {
    this.traffic = new TimelineBuilder({ since: opts.since, until: opts.until, now: opts.now });
  }

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  /** True once MAX_CLIENTS was reached and new clients were skipped. */
  clientCapReached = false;

  /** Error-log lines read (they are evidence, not requests). */
  errorEvents = 0;

  add(e: LogEntry): void {
    // The client field must be an address: it ends up in firewall rules. Keys of `clients` are
    // canonical addresses already, so only an IP not seen before is parsed.
    if (!this.clients.has(e.ip)) {
      const ip = canonicalAddress(e.ip);
      if (!ip || ip.text.includes('/')) return this.skip('bad_client_address');
      e.ip = ip.text;
    }
    if (Number.isFinite(e.time)) {
      if (this.opts.since !== undefined && e.time < this.opts.since) return this.skip('before_since');
      if (this.opts.until !== undefined && e.time >= this.opts.until) return this.skip('after_until');
    }
    if (e.event) return this.addEvent(e as LogEntry & { event: ErrorEvent });
    const vhost = e.vhost?.toLowerCase() ?? null;
    if (this.opts.domains && this.opts.domains.length > 0 && (!vhost || !this.opts.domains.includes(vhost)))
      return this.skip('other_domain');
    this.requests++;
    this.bytes += e.bytes;
    const cls = this.ua.classify(e.userAgent);
    this.classRequests[cls.cls]++;
    const statusClass = e.status ? `${Math.floor(e.status / 100)}xx` : 'unknown';
    this.status[statusClass] = (this.status[statusClass] ?? 0) + 1;
    this.paths.add(e.path.length > 300 ? `${e.path.slice(0, 300)}...` : e.path);
    this.agents.add(e.userAgent.slice(0, 300));
    if (Number.isFinite(e.time)) {
      if (e.time < this.first) this.first = e.time;
      if (e.time > this.last) this.last = e.time;
      const hour = Math.floor(e.time / 3_600_000);
      this.timeline.set(hour, (this.timeline.get(hour) ?? 0) + 1);
    }
    if (vhost) {
      let d = this.domainStats.get(vhost);
      if (!d) {
        d = { requests: 0, bytes: 0, status: {}, ips: new Set(), botRequests: 0 };
        if (this.domainStats.size < 1000) this.domainStats.set(vhost, d);
      }
      d.requests++;
      d.bytes += e.bytes;
      d.status[statusClass] = (d.status[statusClass] ?? 0) + 1;
      if (d.ips.size < 100_000) d.ips.add(e.ip);
      if (cls.cls !== 'human') d.botRequests++;
    }

    // Whether the request is hostile depends on the line alone, never on the client table: a
    // botnet's new addresses past the client cap are counted hostile all the same.
    const loginPost = e.method === 'POST' && LOGIN_PATH.test(e.path);
    const sig =
      this.requestSignature(e.method, e.path, vhost) ??
      cls.uaAttack ??
      (e.referer.includes('${') || e.referer.includes('() {') ? this.headerSignature(e.referer) : undefined);
    // A login POST is the flood's evidence, not a probe: counting it twice would double the score.
    // An exploit is its own (stronger) reason: the same request is not a probe as well.
    const probe = loginPost || sig?.strength === 'exploit' ? undefined : probeOf(e.path);
    this.traffic.add(
      e.time,
      cls.cls,
      sig !== undefined || probe !== undefined || loginPost || cls.cls === 'scanner',
    );
    const c = this.client(e.ip);
    if (!c) return;
    c.requests++;
    c.bytes += e.bytes;
    if (e.status >= 400) c.errors++;
    if (loginPost) c.loginPosts++;
    if (Number.isFinite(e.time)) {
      if (e.time < c.first) c.first = e.time;
      if (e.time > c.last) c.last = e.time;
      const minute = Math.floor(e.time / 60_000);
      if (minute === c.minute) c.minuteCount++;
      else {
        c.minute = minute;
        c.minuteCount = 1;
      }
      if (c.minuteCount > c.peakPerMinute) c.peakPerMinute = c.minuteCount;
    }
    const uaCount = c.userAgents.get(e.userAgent);
    if (uaCount !== undefined) c.userAgents.set(e.userAgent, uaCount + 1);
    else {
      if (cls.cls === 'human') c.browserUas++;
      if (c.userAgents.size < MAX_UAS_PER_IP) c.userAgents.set(e.userAgent, 1);
      else c.uaOverflow++;
    }
    c.classes.add(cls.cls);
    if (cls.claimsEngine) c.claimsEngine = cls.claimsEngine;
    if (cls.emptyUa) c.emptyUa = true;
    if (cls.cls === 'scanner') c.scannerUa = cls.name;
    if (vhost && c.domains.size < MAX_DOMAINS_PER_IP) c.domains.add(vhost);
    if (sig) recordAttack(c, sig, e);
    if (probe) {
      const p = c.probes.get(probe);
      if (p) p.count++;
      else c.probes.set(probe, { count: 1, example: e.path.slice(0, 120), fromErrors: 0 });
    }
  }

  /**
   * Signature verdicts by request line: real logs repeat their top paths (the home page, assets)
   * many times, and a verdict depends only on the method, the target and, for an absolute URI,
   * the virtual host. Bounded like the UA cache.
   */
  private requestSignature(method: string, target: string, vhost: string | null): SignatureHit | undefined {
    // Most lines are GETs of a path: the target alone is the key, no string is built.
    const key =
      method === 'GET' && target.charCodeAt(0) === 47 ? target : `${method} ${target} ${vhost ?? ''}`;
    let h = this.requestHits.get(key);
    if (h === undefined) {
      h = matchRequest(method, target, vhost) ?? null;
      if (this.requestHits.size >= 50_000) this.requestHits.clear();
      this.requestHits.set(key, h);
    }
    return h ?? undefined;
  }

  private headerSignature(value: string): SignatureHit | undefined {
    if (value.length < 6) return undefined;
    let h = this.headerHits.get(value);
    if (h === undefined) {
      h = matchHeader(value) ?? null;
      if (this.headerHits.size >= 50_000) this.headerHits.clear();
      this.headerHits.set(value, h);
    }
    return h ?? undefined;
  }

  /** The state of `ip`, created on first sight; undefined once MAX_CLIENTS are tracked. */
  private client(ip: string): ClientState | undefined {
    const known = this.clients.get(ip);
    if (known) return known;
    if (this.clients.size >= (this.opts.maxClients ?? MAX_CLIENTS)) {
      this.clientCapReached = true;
      this.skip('client_cap');
      return undefined;
    }
    const c: ClientState = {
      requests: 0,
      bytes: 0,
      errors: 0,
      loginPosts: 0,
      first: Number.POSITIVE_INFINITY,
      last: Number.NEGATIVE_INFINITY,
      minute: -1,
      minuteCount: 0,
      peakPerMinute: 0,
      userAgents: new Map(),
      uaOverflow: 0,
      browserUas: 0,
      probes: new Map(),
      classes: new Set(),
      claimsEngine: null,
      emptyUa: false,
      scannerUa: null,
      domains: new Set(),
      attacks: new Map(),
      authFailures: 0,
      rateLimited: 0,
      lastWafTx: null,
    };
    this.clients.set(ip, c);
    return c;
  }

  /** An error-log line: evidence about a client, never a request of its own. */
  private addEvent(e: LogEntry & { event: ErrorEvent }): void {
    this.errorEvents++;
    const c = this.client(e.ip);
    if (!c) return;
    if (Number.isFinite(e.time)) {
      if (e.time < c.first) c.first = e.time;
      if (e.time > c.last) c.last = e.time;
    }
    const ev = e.event;
    if (ev.kind === 'auth_failure') c.authFailures++;
    else if (ev.kind === 'rate_limited') c.rateLimited++;
    else if (ev.kind === 'waf' && ev.ruleId) {
      const family = wafFamily(ev.ruleId);
      if (!family) return;
      if (family === 'scanner') {
        c.scannerUa ??= `ModSecurity rule ${ev.ruleId}${ev.message ? ` (${ev.message})` : ''}`;
        return;
      }
      // One request, many rule lines: the transaction is the URI plus the second it was logged.
      const tx = `${e.path}@${Math.floor(e.time / 1000)}`;
      const again = tx === c.lastWafTx;
      c.lastWafTx = tx;
      recordAttack(
        c,
        { family, signature: `modsecurity.${ev.ruleId}`, strength: 'exploit', successMatters: false },
        { ...e, method: e.method || 'GET', path: `${e.path}${ev.message ? ` (${ev.message})` : ''}` },
        again ? 0 : 1,
      );
    } else if ((ev.kind === 'not_found' || ev.kind === 'other') && e.path) {
      const sig = matchRequest(e.method || 'GET', e.path, null);
      if (sig?.strength === 'exploit') return recordAttack(c, sig, e, 1);
      const probe = probeOf(e.path);
      if (probe) {
        const p = c.probes.get(probe);
        if (p) p.fromErrors++;
        else c.probes.set(probe, { count: 0, example: e.path.slice(0, 120), fromErrors: 1 });
      }
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** IPs whose UA claims a DNS-verifiable search engine, busiest first. */
  claimedEngines(): Array<{ ip: string; engine: string; requests: number }> {
    const out: Array<{ ip: string; engine: string; requests: number }> = [];
    for (const [ip, c] of this.clients)
      if (c.claimsEngine) out.push({ ip, engine: c.claimsEngine, requests: c.requests });
    return out.sort((a, b) => b.requests - a.requests);
  }

  /** `verdicts`: DNS outcomes per claimed IP; a claimed IP without one stays "unknown". */
  finish(
    top: number,
    verdicts: Map<string, VerifyOutcome> = new Map(),
    maxTimelinePoints = DEFAULT_MAX_POINTS,
  ): AnalysisResult {
    const reports: ClientReport[] = [];
    for (const [ip, c] of this.clients) reports.push(this.report(ip, c, verdicts.get(ip)));
    reports.sort(
      (a, b) => b.threatScore - a.threatScore || b.requests - a.requests || a.ip.localeCompare(b.ip),
    );
    const found = findClusters(reports, this.clients);
    // Acting together is a reason of its own: members of a high/critical cluster are raised to it,
    // so a botnet of IPs that each look "medium" is still recommended for blocking.
    for (const { cluster, score, members } of found) {
      if (cluster.threatLevel !== 'high' && cluster.threatLevel !== 'critical') continue;
      for (const m of members) {
        if (m.reasons.some((x) => x.id === 'coordinated') || m.threatScore >= score) continue;
        m.reasons.push({
          id: 'coordinated',
          points: score - m.threatScore,
          evidence: `one of ${cluster.ipCount} IPs in a ${cluster.threatLevel} ${cluster.kind.replace('_', ' ')} cluster (${cluster.fingerprint.slice(0, 60)})`,
        });
        m.threatScore = Math.min(
          100,
          m.reasons.reduce((sum, x) => sum + x.points, 0),
        );
        m.threatLevel = levelOf(m.threatScore);
      }
    }
    reports.sort(
      (a, b) => b.threatScore - a.threatScore || b.requests - a.requests || a.ip.localeCompare(b.ip),
    );
    const clusters = found.map((f) => f.cluster);
    const severe = (l: ThreatLevel) => l === 'high' || l === 'critical';
    const blockedNets = new Set(
      clusters.filter((k) => k.kind === 'subnet' && severe(k.threatLevel)).map((k) => k.fingerprint),
    );
    const allowlisted = new Set(reports.filter((r) => r.allowlisted).map((r) => r.ip));
    const targets = [
      ...[...blockedNets].map((net) => ({ address: net, reason: 'server-audit-mcp: hostile subnet' })),
      // Members of a hostile shared-UA cluster, even when each alone scored lower.
      ...clusters
        .filter((k) => k.kind === 'shared_user_agent' && severe(k.threatLevel))
        .flatMap((k) => k.ips.map((ip) => ({ address: ip, reason: 'server-audit-mcp: botnet member' }))),
      ...reports
        .filter((r) => severe(r.threatLevel))
        .map((r) => ({
          address: r.ip,
          reason: `server-audit-mcp: ${r.reasons[0]?.id ?? 'threat'} score ${r.threatScore}`,
        })),
    ].filter(
      (t) =>
        !allowlisted.has(t.address) &&
        !(t.address.includes('/') ? false : blockedNets.has(subnetOf(t.address) ?? '')),
    );
    const levelCounts = Object.fromEntries(THREAT_LEVELS.map((l) => [l, 0])) as Record<ThreatLevel, number>;
    for (const r of reports) levelCounts[r.threatLevel]++;
    return {
      requests: this.requests,
      bytes: this.bytes,
      uniqueIps: this.clients.size,
      timeRange:
        this.first <= this.last
          ? { from: new Date(this.first).toISOString(), to: new Date(this.last).toISOString() }
          : null,
      statusMix: this.status,
      requestsByClass: this.classRequests,
      clientsByThreat: levelCounts,
      clients: reports.slice(0, top),
      clientsTruncated: reports.length > top,
      clusters: clusters.slice(0, top),
      domains: [...this.domainStats]
        .sort((a, b) => b[1].requests - a[1].requests)
        .slice(0, top)
        .map(([name, d]) => ({
          domain: name,
          requests: d.requests,
          bytes: d.bytes,
          uniqueIps: d.ips.size,
          statusMix: d.status,
          botPercent: round1((d.botRequests / d.requests) * 100),
        })),
      topPaths: this.paths.top(top).map(({ key, count }) => ({ path: key, requests: count })),
      topUserAgents: this.agents
        .top(Math.min(top, 10))
        .map(({ key, count }) => ({ userAgent: key, requests: count })),
      timeline: [...this.timeline]
        .sort((a, b) => a[0] - b[0])
        .slice(-168)
        .map(([hour, n]) => ({ hour: new Date(hour * 3_600_000).toISOString(), requests: n })),
      traffic: this.traffic.finish(maxTimelinePoints),
      recommendations: blockRecommendations(targets),
    };
  }

  private report(ip: string, c: ClientState, outcome: VerifyOutcome | undefined): ClientReport {
    const uas = [...c.userAgents].sort((a, b) => b[1] - a[1]).map(([ua]) => ua);
    const primary = uas[0] ?? '';
    const cls = this.ua.classify(primary);
    const reasons = scoreClient(c);
    const verdict: Verdict | undefined = c.claimsEngine ? (outcome?.verdict ?? 'unknown') : undefined;
    if (verdict === 'failed') {
      reasons.unshift({
        id: 'fake_search_engine',
        points: 55,
        evidence: `claims to be ${c.claimsEngine}'s crawler, but DNS says otherwise: ${outcome?.detail ?? ''}`,
      });
    }
    let score = Math.min(
      100,
      reasons.reduce((s, r) => s + r.points, 0),
    );
    // A verified crawler follows links, stale ones included: it may look odd, it is not an attacker.
    if (verdict === 'verified') score = Math.min(score, 25);
    const allowlisted = this.opts.isAllowed(ip, primary);
    return {
      ip,
      requests: c.requests,
      bytes: c.bytes,
      errorPercent: c.requests > 0 ? round1((c.errors / c.requests) * 100) : 0,
      peakPerMinute: c.peakPerMinute,
      classification: cls.cls,
      botName: cls.name,
      userAgents: uas.slice(0, 5).map((u) => u.slice(0, 200)),
      threatScore: score,
      threatLevel: levelOf(score),
      reasons,
      verified: verdict ?? 'not_claimed',
      verification: c.claimsEngine ? (outcome?.detail ?? 'not checked') : null,
      allowlisted,
      firstSeen: Number.isFinite(c.first) ? new Date(c.first).toISOString() : null,
      lastSeen: Number.isFinite(c.last) ? new Date(c.last).toISOString() : null,
    };
  }
}

export type AnalysisResult = {
  requests: number;
  bytes: number;
  uniqueIps: number;
  timeRange: { from: string; to: string } | null;
  statusMix: Record<string, number>;
  requestsByClass: Record<ClientClass, number>;
  clientsByThreat: Record<ThreatLevel, number>;
  clients: ClientReport[];
  clientsTruncated: boolean;
  clusters: Cluster[];
  domains: Array<{
    domain: string;
    requests: number;
    bytes: number;
    uniqueIps: number;
    statusMix: Record<string, number>;
    botPercent: number;
  }>;
  topPaths: Array<{ path: string; requests: number }>;
  topUserAgents: Array<{ userAgent: string; requests: number }>;
  timeline: Array<{ hour: string; requests: number }>;
  traffic: TrafficTimeline;
  recommendations: BlockRecommendations;
};

const round1 = (n: number) => Math.round(n * 10) / 10;

/** `fromErrors`: 0 for an access-log request; 1 for an error-log attempt; 0 too for a repeated WAF line of one request. */
function recordAttack(c: ClientState, sig: SignatureHit, e: LogEntry, fromErrors?: number): void {
  const fromError = fromErrors !== undefined;
  const target = e.path.length > EVIDENCE_TARGET ? `${e.path.slice(0, EVIDENCE_TARGET)}...` : e.path;
  const request = fromError
    ? `error log: ${e.method ? `${e.method.slice(0, 20)} ` : ''}${target}`
    : `"${e.method.slice(0, 20)} ${target}" ${e.status || '-'}`;
  const succeeded = sig.successMatters && e.status >= 200 && e.status < 300;
  let a = c.attacks.get(sig.family);
  if (!a) {
    a = { count: 0, strength: sig.strength, signatures: [], example: request, success: null, fromErrors: 0 };
    c.attacks.set(sig.family, a);
  } else if (a.strength === 'anomaly' && sig.strength === 'exploit') {
    // An exploit outranks an oddity of the same family: it becomes the evidence.
    a.strength = 'exploit';
    a.example = request;
  }
  if (fromError) a.fromErrors += fromErrors;
  else a.count++;
  if (!a.signatures.includes(sig.signature) && a.signatures.length < MAX_SIGNATURES_PER_FAMILY)
    a.signatures.push(sig.signature);
  if (succeeded && !a.success) a.success = request;
}

/**
 * Attack reasons: one confirmed exploit attempt is "medium" on its own (35); a second family
 * (20 each) or a repeated attempt (20) makes "high"; a 2xx answer to a path exploit or a proxy
 * request (it may have worked) adds 25. Oddities alone (a WebDAV method, a lower-case method)
 * stay low unless many kinds pile up.
 */
function attackReasons(c: ClientState): Reason[] {
  const r: Reason[] = [];
  const exploits = [...c.attacks]
    .filter(([, a]) => a.strength === 'exploit')
    .sort((x, y) => Math.max(y[1].count, y[1].fromErrors) - Math.max(x[1].count, x[1].fromErrors));
  const anomalies = [...c.attacks].filter(([, a]) => a.strength === 'anomaly');
  let hits = 0;
  exploits.forEach(([family, a], i) => {
    const n = Math.max(a.count, a.fromErrors);
    hits += n;
    r.push({
      id: `attack_${family}`,
      points: i === 0 ? 35 : 20,
      evidence: `${n} request(s) matching ${a.signatures.join(', ')}, e.g. ${a.example}`,
      signature: a.signatures[0] as string,
    });
  });
  if (exploits.length === 1 && hits >= 2) {
    const [family, a] = exploits[0] as [AttackFamily, AttackState];
    r.push({
      id: 'attack_repeated',
      points: 20,
      evidence: `${hits} ${family} attempts`,
      signature: a.signatures[0] as string,
    });
  }
  const success = exploits.find(([, a]) => a.success);
  if (success) {
    r.push({
      id: 'attack_success',
      points: 25,
      evidence: `answered 2xx, the attack may have worked: ${success[1].success}`,
      signature: success[1].signatures[0] as string,
    });
  }
  if (anomalies.length > 0 && exploits.length === 0) {
    const kinds = anomalies.flatMap(([, a]) => a.signatures);
    const count = anomalies.reduce((s, [, a]) => s + Math.max(a.count, a.fromErrors), 0);
    const first = anomalies[0] as [AttackFamily, AttackState];
    r.push({
      id: 'unusual_request',
      points: kinds.length >= 3 ? 30 : count >= 5 ? 20 : 10,
      evidence: `${count} unusual request(s): ${kinds.join(', ')}, e.g. ${first[1].example}`,
      signature: kinds[0] as string,
    });
  }
  return r;
}

/** The attack family of a ModSecurity/CRS rule id (its hundreds), or 'scanner'; undefined for
 * protocol checks (920-922), method policy (911) and the scoring rules (949, 959, 980), which
 * are policy or bookkeeping, not an attack named. */
export function wafFamily(ruleId: string): AttackFamily | 'scanner' | undefined {
  const block = Math.floor(Number(ruleId) / 1000);
  const map: Record<number, AttackFamily | 'scanner'> = {
    913: 'scanner',
    930: 'lfi',
    931: 'rfi',
    932: 'command_injection',
    933: 'code_injection',
    934: 'code_injection',
    941: 'xss',
    942: 'sqli',
    943: 'code_injection',
    944: 'code_injection',
  };
  return map[block];
}

export function levelOf(score: number): ThreatLevel {
  if (score >= 80) return 'critical';
  if (score >= 55) return 'high';
  if (score >= 30) return 'medium';
  if (score >= 10) return 'low';
  return 'none';
}

/**
 * The reasons an IP looks hostile, each worth points (the sum, capped at 100, is the score).
 * Volume alone tops out at "medium": a busy human or a crawler is not an attacker by rate.
 */
export function scoreClient(c: ClientState): Reason[] {
  const r: Reason[] = attackReasons(c);
  if (c.scannerUa)
    r.push({ id: 'scanner_user_agent', points: 60, evidence: `user agent of the scanner ${c.scannerUa}` });
  const probeHits = [...c.probes.values()].reduce((s, p) => s + Math.max(p.count, p.fromErrors), 0);
  if (c.probes.size > 0) {
    const kinds = [...c.probes.keys()];
    const points = c.probes.size >= 3 ? 60 : c.probes.size === 2 ? 45 : probeHits >= 3 ? 35 : 25;
    r.push({
      id: 'sensitive_paths',
      points,
      evidence: `${probeHits} requests for ${kinds.join(', ')} (e.g. ${[...c.probes.values()]
        .map((p) => p.example)
        .slice(0, 3)
        .join(' ')})`,
    });
  }
  if (c.loginPosts >= 5) {
    r.push({
      id: 'login_post_flood',
      points: c.loginPosts >= 50 ? 60 : c.loginPosts >= 20 ? 45 : 20,
      evidence: `${c.loginPosts} POSTs to login endpoints`,
    });
  }
  if (c.authFailures >= 5) {
    r.push({
      id: 'auth_failures',
      points: c.authFailures >= 100 ? 55 : c.authFailures >= 20 ? 40 : 20,
      evidence: `${c.authFailures} failed logins in the error log (wrong user or password)`,
    });
  }
  if (c.rateLimited >= 10) {
    r.push({
      id: 'rate_limited',
      points: c.rateLimited >= 100 ? 25 : 15,
      evidence: `${c.rateLimited} requests refused by the server's rate or connection limit`,
    });
  }
  if (c.peakPerMinute >= 60) {
    r.push({
      id: 'request_rate',
      points: c.peakPerMinute >= 600 ? 30 : c.peakPerMinute >= 180 ? 20 : 10,
      evidence: `peak ${c.peakPerMinute} requests in one minute, ${c.requests} in all`,
    });
  }
  if (c.requests >= 20 && c.errors / c.requests >= 0.5) {
    r.push({
      id: 'error_ratio',
      points: c.errors / c.requests >= 0.8 ? 25 : 15,
      evidence: `${c.errors} of ${c.requests} requests answered 4xx/5xx`,
    });
  }
  // browserUas counts each new browser UA (the stored map stops at 20; uaOverflow counts repeats too).
  if (c.browserUas >= 5 && c.requests >= 20 && c.browserUas / c.requests >= 0.05) {
    r.push({
      id: 'user_agent_rotation',
      points: c.browserUas >= 15 ? 55 : 35,
      evidence: `${c.browserUas} different browser user agents in ${c.requests} requests`,
    });
  }
  if (c.emptyUa)
    r.push({ id: 'empty_user_agent', points: 15, evidence: 'requests with an empty or "-" user agent' });
  return r.sort((a, b) => b.points - a.points);
}

const SUBNET_MIN_IPS = 5;
const UA_CLUSTER_MIN_IPS = 5;

/** IPs acting together: many sharing a non-browser UA with hostile traits, and dense hostile subnets. */
function findClusters(
  reports: ClientReport[],
  states: Map<string, ClientState>,
): Array<{ cluster: Cluster; score: number; members: ClientReport[] }> {
  const clusters: Array<{ cluster: Cluster; score: number; members: ClientReport[] }> = [];
  const suspicious = reports.filter((r) => r.threatLevel !== 'none' && !r.allowlisted);
  // Shared user agent: common browser UAs are shared by millions of humans, so only automation or
  // UAs whose sharers are (mostly) suspicious form a cluster.
  const byUa = new Map<string, ClientReport[]>();
  for (const r of reports) {
    const ua = r.userAgents[0];
    // An empty UA is a trait (scored per IP), not a fingerprint: unrelated clients share it.
    if (ua === undefined || r.allowlisted || ua.trim() === '' || ua.trim() === '-') continue;
    const list = byUa.get(ua) ?? [];
    list.push(r);
    byUa.set(ua, list);
  }
  for (const [ua, members] of byUa) {
    if (members.length < UA_CLUSTER_MIN_IPS) continue;
    const hostile = members.filter((m) => m.threatLevel !== 'none');
    if (hostile.length * 2 < members.length) continue;
    const cls = members[0]?.classification;
    if (cls === 'search_engine' || cls === 'monitor' || cls === 'feed_reader') continue;
    clusters.push({ ...makeCluster('shared_user_agent', ua.slice(0, 200), members, states), members });
  }
  // A subnet is blocked whole only when nobody innocent was seen in it.
  const innocentNets = new Set(
    reports.filter((r) => r.threatLevel === 'none' || r.allowlisted).map((r) => subnetOf(r.ip)),
  );
  const bySubnet = new Map<string, ClientReport[]>();
  for (const r of suspicious) {
    const net = subnetOf(r.ip);
    if (!net) continue;
    const list = bySubnet.get(net) ?? [];
    list.push(r);
    bySubnet.set(net, list);
  }
  for (const [net, members] of bySubnet) {
    if (members.length >= SUBNET_MIN_IPS && !innocentNets.has(net))
      clusters.push({ ...makeCluster('subnet', net, members, states), members });
  }
  return clusters.sort(
    (a, b) =>
      THREAT_LEVELS.indexOf(b.cluster.threatLevel) - THREAT_LEVELS.indexOf(a.cluster.threatLevel) ||
      b.cluster.requests - a.cluster.requests,
  );
}

/** Reasons that are hostile on their own (volume and errors alone are not); attack_* are too. */
const HOSTILE_REASONS = new Set([
  'sensitive_paths',
  'login_post_flood',
  'scanner_user_agent',
  'user_agent_rotation',
]);
const isHostile = (id: string) => HOSTILE_REASONS.has(id) || id.startsWith('attack_');

function makeCluster(
  kind: Cluster['kind'],
  fingerprint: string,
  members: ClientReport[],
  states: Map<string, ClientState>,
): { cluster: Cluster; score: number } {
  const reasonIds = new Map<string, number>();
  for (const m of members) for (const r of m.reasons) reasonIds.set(r.id, (reasonIds.get(r.id) ?? 0) + 1);
  const traits = [...reasonIds]
    .sort((a, b) => b[1] - a[1])
    .map(([id, n]) => `${id} (${n} of ${members.length} IPs)`);
  // Synchronized activity: the members' last active minutes lie close together.
  const minutes = members.map((m) => states.get(m.ip)?.minute ?? -1).filter((x) => x >= 0);
  const synchronized = minutes.length >= 2 && Math.max(...minutes) - Math.min(...minutes) <= 5;
  if (synchronized) traits.push('active in the same few minutes');
  const sharedHostile = [...reasonIds].some(([id, n]) => isHostile(id) && n * 2 > members.length);
  const scores = members.map((m) => m.threatScore).sort((a, b) => a - b);
  const median = scores[Math.floor(scores.length / 2)] ?? 0;
  // Acting together raises the stakes: many IPs, in step, with the same hostile trait are one threat.
  const score = Math.min(
    100,
    median + (members.length >= 10 ? 25 : 15) + (synchronized ? 10 : 0) + (sharedHostile ? 10 : 0),
  );
  return {
    cluster: {
      kind,
      fingerprint,
      ips: members.slice(0, 50).map((m) => m.ip),
      ipCount: members.length,
      requests: members.reduce((s, m) => s + m.requests, 0),
      traits,
      threatLevel: levelOf(score),
    },
    score,
  };
}
