import { z } from 'zod';
import { type Allowlist, isAllowlisted, parseAllowlist } from '../audit/bots/allowlist.js';
import {
  type AnalysisResult,
  BotAnalyzer,
  MAX_CLIENTS,
  THREAT_LEVELS,
  type VerifyOutcome,
} from '../audit/bots/analyzer.js';
import { CLIENT_CLASSES } from '../audit/bots/classify.js';
import {
  detectFormat,
  ERROR_FORMATS,
  type LineParser,
  PRESET_FORMATS,
  parserFor,
} from '../audit/logs/logFormat.js';
import { LogPathError, resolveLogFiles, streamLines } from '../host/logFiles.js';
import { checkLogWindow, LogReadBudget, logWindowInput } from './logWindow.js';
import { defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, orNull } from './schemas.js';

const MAX_LINE_BYTES = 16 * 1024;
const DETECT_SAMPLE = 50;
/** Claimed crawlers checked per call, busiest first; each costs up to two DNS queries. */
const MAX_VERIFY = 100;
const VERIFY_CONCURRENCY = 8;

const levels = z.enum(THREAT_LEVELS);
const classes = z.enum(CLIENT_CLASSES);
const counts = z.record(z.string(), z.number());

export const analyzeBotsOutput = {
  summary: z.object({
    files: z.array(
      z.object({
        path: z.string(),
        bytes: z.number(),
        format: orNull(z.string()),
        note: orNull(z.string()),
      }),
    ),
    lines: z.number().describe('Lines read'),
    parsed: z.number(),
    errorLogEvents: z
      .number()
      .describe(
        'Error-log lines about a client (auth failures, rate limits, missing files, WAF rules): evidence, not requests',
      ),
    skipped: counts.describe(
      'Lines not counted, by reason: unparsable, empty, too_long, before_since, after_until, other_domain, unrecognised_file (a file skipped whole, see files[].note), error_log_other (error-log lines naming no client)',
    ),
    timeRange: z.object({ from: z.string(), to: z.string() }).nullable(),
    requests: z.number(),
    bytesServed: z.number(),
    uniqueIps: z.number(),
    statusMix: counts.describe('Requests by status class: 2xx, 3xx, 4xx, 5xx'),
    requestsByClass: z.record(classes, z.number()).describe('Requests by client class (bot share by class)'),
    clientsByThreat: z.record(levels, z.number()),
    botVerification: z.string().describe('What the DNS verification of claimed crawlers did'),
  }),
  clients: z
    .array(
      z.object({
        ip: z.string(),
        requests: z.number(),
        bytes: z.number(),
        errorPercent: z.number(),
        peakPerMinute: z.number(),
        classification: classes,
        botName: orNull(z.string()).describe('The matched crawler/tool pattern'),
        userAgents: z.array(z.string()).describe('Most used first, at most 5'),
        threatScore: z.number().describe("0-100: the sum of the reasons' points"),
        threatLevel: levels,
        reasons: z.array(
          z.object({
            id: z.string(),
            points: z.number(),
            evidence: z.string().describe('The numbers, or for attacks the matched request and its status'),
            signature: z
              .string()
              .optional()
              .describe(
                'For attack_* reasons: the signature id matched, e.g. iis.nimda, sqli.union_select, modsecurity.942100',
              ),
          }),
        ),
        verified: z
          .enum(['not_claimed', 'verified', 'failed', 'unknown'])
          .describe(
            'For UAs claiming Google/Bing/Apple/Yandex/Baidu: reverse+forward DNS verdict (failed = a fake bot; unknown = DNS did not answer or not checked)',
          ),
        verification: orNull(z.string()).describe('The verifying host name, or why it failed or is unknown'),
        allowlisted: z.boolean().describe('Reported, never recommended for blocking'),
        firstSeen: orNull(z.string()),
        lastSeen: orNull(z.string()),
      }),
    )
    .describe('Top clients by threat score, then requests'),
  clusters: z
    .array(
      z.object({
        kind: z.enum(['shared_user_agent', 'subnet']),
        fingerprint: z.string().describe('The shared user agent, or the /24 (IPv4) or /48 (IPv6)'),
        ips: z.array(z.string()).describe('Members, at most 50'),
        ipCount: z.number(),
        requests: z.number(),
        traits: z.array(z.string()),
        threatLevel: levels,
      }),
    )
    .describe('Coordinated activity: many IPs sharing a fingerprint, or dense hostile subnets'),
  domains: z.array(
    z.object({
      domain: z.string(),
      requests: z.number(),
      bytes: z.number(),
      uniqueIps: z.number(),
      statusMix: counts,
      botPercent: z.number(),
    }),
  ),
  topPaths: z.array(z.object({ path: z.string(), requests: z.number() })),
  topUserAgents: z.array(z.object({ userAgent: z.string(), requests: z.number() })),
  timeline: z
    .array(z.object({ hour: z.string(), requests: z.number() }))
    .describe('Requests per hour, last 168 hours'),
  traffic: z
    .object({
      bucketSeconds: z
        .number()
        .describe(
          'Bucket size: 60 (per minute) up to 1 week, the smallest fitting 240 points (past 240 weeks: the newest 240)',
        ),
      start: orNull(z.string()).describe('Start of the first bucket'),
      points: z.number(),
      series: z
        .partialRecord(classes, z.array(z.number()))
        .describe('Requests per bucket by client class (classes seen)'),
      hostile: z
        .array(z.number())
        .describe(
          'Hostile requests per bucket: attack signature, sensitive-path probe, login POST or scanner UA',
        ),
      burstThreshold: z
        .number()
        .describe('Hostile requests per bucket that make a burst: max(5, 4 x median)'),
      bursts: z
        .array(
          z.object({
            from: z.string(),
            to: z.string(),
            hostileRequests: z.number(),
            requests: z.number(),
            peak: z.number().describe('Hostile requests in its busiest bucket'),
          }),
        )
        .describe('Runs of buckets at or over burstThreshold, the 20 largest in time order'),
      outOfRange: z
        .number()
        .describe(
          'Requests not charted: a time far from the bulk of the log (forged, skewed) or in the future',
        ),
    })
    .describe('Requests per bucket by client class with hostile bursts (the Bots view charts it)'),
  recommendations: z
    .object({
      addresses: z
        .array(z.string())
        .describe('Validated IPs and CIDRs of high/critical clients and clusters'),
      nftables: z.array(z.string()),
      iptables: z.array(z.string()),
      csf: z.array(z.string()),
      nginx: z.array(z.string()),
    })
    .describe('Commands for the operator to review and run; nothing is applied'),
  truncated: z.boolean().describe('True when clients or clusters were cut to `top`'),
  partial: z.boolean().describe('True when reading stopped early: maxLines, maxBytes or the deadline'),
  stoppedBecause: orNull(z.string()),
  bytesRead: z.number(),
  durationMs: z.number(),
};

export const analyzeBotsTool = defineTool({
  name: 'analyze_bots',
  title: 'Analyze bot traffic',
  description:
    'Who is hammering my site and what should I block? Streams access and error logs under ' +
    'AUDIT_ALLOWED_PATHS, classifies clients, scores each IP 0-100 with reasons (attack signatures, ' +
    'probes, rates), finds botnets and prints firewall block commands. Partial at the deadline.',
  details:
    'Who is hammering my site and what should I block? Streams access logs and nginx/Apache error ' +
    'logs (`paths`: files or globs in the file name, under `AUDIT_ALLOWED_PATHS`; `.gz` and ' +
    'rotated sets read oldest first) in `format` `auto` (default, per file: an empty, blank or ' +
    'unrecognised file in a set is skipped with a note in `summary.files[].note`), `combined`, ' +
    '`common`, `vhost_combined`, `nginx`, `json` (one object per line), `nginx_error`, ' +
    '`apache_error` or an Apache LogFormat string. Error-log lines (failed logins, ' +
    '`limit_req`/`limit_conn` refusals, missing-file probes, ModSecurity rules) are evidence ' +
    'about an IP, never requests (`summary.errorLogEvents`). Classifies clients with the ' +
    '`crawler-user-agents` and `isbot` data (human, search_engine, ai_crawler, seo_tool, monitor, ' +
    'feed_reader, library, scanner, other_crawler, unknown_automation), scores every IP 0-100 ' +
    'with reasons and evidence (attack signatures per request, each reason with the matched ' +
    'request and a `signature` id: known exploits such as Code Red, Nimda, PHP-CGI, Struts, ' +
    'router and VPN exploits, traversal and encoding tricks, SQLi, XSS, command and code ' +
    'injection, LFI, RFI, proxy abuse with CONNECT or absolute URIs, TRACE/TRACK, WebDAV ' +
    'overflows and oversized URIs, TrackBack spam; one attempt makes an IP medium, repeated or ' +
    'varied attempts or a 2xx on an exploit path high; scanner UA, including the OWASP CRS ' +
    'scanner list, sensitive-path probes, login POST floods, failed logins and rate-limit ' +
    'refusals from error logs, request rate, error ratio, browser-UA rotation, empty UA, acting ' +
    'in a cluster), finds clusters (many IPs sharing a UA, hostile /24 or /48 subnets with no ' +
    'innocent client in them) and prints block commands for nftables, iptables, CSF and nginx ' +
    'built from validated addresses only. `verifyBots` (default true) checks claimed ' +
    'Google/Bing/Apple/Yandex/Baidu crawlers by reverse and forward DNS: a failed claim is a fake ' +
    'bot and scores high, a verified one is capped at low, an unanswered one is `unknown`. ' +
    '`since`/`until`, `domains`, `allowlist` (IPs, CIDRs, `ua:substring`; merged with ' +
    '`BOT_ALLOWLIST_FILES`), `top`, `maxLines`, `maxBytes`. Reports progress (bytes read) and ' +
    'stops at `TOOL_DEADLINE_SECONDS` with `partial: true`; client fields that are not IP ' +
    'addresses are skipped (they would end up in firewall rules), and past 250,000 distinct ' +
    'clients new ones are counted, not analysed (also `partial`).',
  inputSchema: {
    paths: z
      .array(boundedString(1, 4096))
      .min(1)
      .max(50)
      .describe('Log files or file-name globs, e.g. ["/var/log/nginx/access.log*"]'),
    format: boundedString(1, 500)
      .default('auto')
      .describe(
        `auto, ${Object.keys(PRESET_FORMATS).join(', ')}, json, ${ERROR_FORMATS.join(', ')} or a LogFormat`,
      ),
    ...logWindowInput('requests', 100_000_000),
    top: z
      .number()
      .int()
      .min(1)
      .max(500)
      .default(25)
      .describe('Clients, clusters, domains and paths to list'),
    domains: z.array(boundedString(1, 253)).max(100).optional().describe('Only these virtual hosts'),
    allowlist: z
      .array(boundedString(1, 200))
      .max(1000)
      .optional()
      .describe('IPs, CIDRs or ua:<substring> never to block'),
    verifyBots: z
      .boolean()
      .default(true)
      .describe(`Verify claimed search-engine crawlers by reverse+forward DNS (the ${MAX_VERIFY} busiest)`),
  },
  outputSchema: analyzeBotsOutput,
  scope: 'audit:logs',
  // verifyBots (default on) asks DNS resolvers about the clients' addresses.
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const started = performance.now();
    checkLogWindow(args);
    const allowlist = mergeAllowlist(ctx.config.botAllowlist, args.allowlist ?? []);
    let fixedParser: LineParser | undefined;
    if (args.format !== 'auto') {
      try {
        fixedParser = parserFor(args.format);
      } catch (err) {
        throw new ToolError(
          `format "${args.format}": ${(err as Error).message}. Use auto, ${Object.keys(PRESET_FORMATS).join(', ')}, json, ${ERROR_FORMATS.join(', ')} or an Apache LogFormat string.`,
        );
      }
    }
    let files;
    try {
      files = await resolveLogFiles(ctx.host.root, ctx.config.AUDIT_ALLOWED_PATHS, args.paths);
    } catch (err) {
      if (err instanceof LogPathError) throw new ToolError(err.message);
      throw err;
    }
    const analyzer = new BotAnalyzer({
      isAllowed: (ip, ua) => isAllowlisted(allowlist, ip, ua),
      domains: args.domains?.map((d) => d.toLowerCase()),
      since: args.since ? Date.parse(args.since) : undefined,
      until: args.until ? Date.parse(args.until) : undefined,
    });

    const budget = new LogReadBudget(
      args,
      ctx,
      files.reduce((s, f) => s + f.size, 0),
    );
    let lines = 0;
    let parsed = 0;
    const summaryFiles: Array<{ path: string; bytes: number; format: string | null; note: string | null }> =
      [];
    const unrecognised: string[] = [];

    for (const file of files) {
      if (budget.stoppedBecause) break;
      const fileInfo = {
        path: file.hostPath,
        bytes: file.size,
        format: fixedParser ? args.format : null,
        note: null as string | null,
      };
      summaryFiles.push(fileInfo);
      // An empty rotated file (a 0-byte .gz is not even valid gzip) has nothing to say: skip it.
      if (file.size === 0) {
        fileInfo.note = 'skipped: empty file';
        continue;
      }
      let parser = fixedParser;
      let pending: string[] | null = parser ? null : [];
      const handle = (line: string) => {
        lines++;
        const before = fileSkipped;
        const e = (parser as LineParser)(line);
        if (e) {
          parsed++;
          analyzer.add(e);
        } else if (fileSkipped > before) analyzer.skip('unrecognised_file');
        else if (line.trim() !== '')
          analyzer.skip(fileInfo.format?.endsWith('_error') ? 'error_log_other' : 'unparsable');
        else analyzer.skip('empty');
      };
      let fileSkipped = 0;
      const detect = () => {
        const found = detectFormat(pending ?? []);
        const buffered = pending ?? [];
        pending = null;
        if (!found) {
          // One odd file in a set must not sink the call: skip it, say so, go on.
          const blank = buffered.every((l) => l.trim() === '');
          fileInfo.note = blank
            ? 'skipped: only blank lines'
            : 'skipped: log format not recognised from its first lines; pass format (combined, common, vhost_combined, nginx, json, nginx_error, apache_error or a LogFormat string)';
          if (!blank) unrecognised.push(file.hostPath);
          parser = () => {
            fileSkipped++;
            return undefined;
          };
          lines += buffered.length;
          fileSkipped += buffered.length;
          for (let i = 0; i < buffered.length; i++) analyzer.skip(blank ? 'empty' : 'unrecognised_file');
          return;
        }
        parser = found.parser;
        fileInfo.format = found.name;
        for (const l of buffered) handle(l);
      };
      await streamLines(
        file,
        {
          line(text) {
            if (pending) {
              pending.push(text);
              if (pending.length >= DETECT_SAMPLE) detect();
              return;
            }
            handle(text);
            budget.countedLines(lines);
          },
          tooLong() {
            lines++;
            analyzer.skip('too_long');
          },
          bytes(n) {
            budget.bytes(n, () => `${file.hostPath}: ${lines} lines`);
          },
        },
        {
          maxLineBytes: MAX_LINE_BYTES,
          signal: ctx.signal,
          shouldStop: () => budget.stoppedBecause !== null,
        },
      ).catch((err: unknown) => {
        // A corrupt or truncated file in a set: what was read counts, the rest is noted.
        if (err instanceof LogPathError && files.length > 1) {
          fileInfo.note = `read stopped: ${err.message}`;
          return;
        }
        if (err instanceof LogPathError) throw new ToolError(err.message);
        throw err;
      });
      // A short file: detect from what there is.
      if (pending && (pending as string[]).length > 0) detect();
      if (fileInfo.format === null && fileInfo.note === null) fileInfo.note = 'skipped: no lines';
      if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
    }

    // Nothing readable at all: the caller must hear it, as before.
    if (parsed === 0 && unrecognised.length > 0 && summaryFiles.every((f) => f.format === null))
      throw new ToolError(
        `${unrecognised.join(', ')}: could not recognise the log format from its first lines; pass format (combined, common, vhost_combined, nginx, json, nginx_error, apache_error or a LogFormat string)`,
      );
    const verification = args.verifyBots
      ? await verifyClaims(ctx, analyzer.claimedEngines(), budget.deadline)
      : { verdicts: new Map<string, VerifyOutcome>(), note: 'not requested (verifyBots: false)' };
    const result = analyzer.finish(args.top, verification.verdicts);
    const stoppedBecause =
      budget.stoppedBecause ??
      (analyzer.clientCapReached
        ? `more than ${MAX_CLIENTS} distinct clients: new ones after that were not analysed (narrow with since/until or domains)`
        : null);
    const structured = {
      summary: {
        files: summaryFiles,
        lines,
        parsed,
        errorLogEvents: analyzer.errorEvents,
        skipped: analyzer.skipped,
        timeRange: result.timeRange,
        requests: result.requests,
        bytesServed: result.bytes,
        uniqueIps: result.uniqueIps,
        statusMix: result.statusMix,
        requestsByClass: result.requestsByClass,
        clientsByThreat: result.clientsByThreat,
        botVerification: verification.note,
      },
      clients: result.clients,
      clusters: result.clusters,
      domains: result.domains,
      topPaths: result.topPaths,
      topUserAgents: result.topUserAgents,
      timeline: result.timeline,
      traffic: result.traffic,
      recommendations: result.recommendations,
      truncated: result.clientsTruncated || result.clusters.length >= args.top,
      partial: stoppedBecause !== null,
      stoppedBecause,
      bytesRead: budget.bytesRead,
      durationMs: Math.round(performance.now() - started),
    };
    await ctx.progress(budget.totalBytes, budget.totalBytes, 'done').catch(() => undefined);
    return { structured, summary: summarize(structured, result) };
  },
});

function mergeAllowlist(base: Allowlist, extra: string[]): Allowlist {
  if (extra.length === 0) return base;
  const copy: Allowlist = { ranges: [...base.ranges], uaSubstrings: [...base.uaSubstrings] };
  const { invalid } = parseAllowlist(extra, copy);
  if (invalid.length > 0)
    throw new ToolError(
      `allowlist entry "${invalid[0]}" is not an IP, a CIDR or ua:<substring of 3+ characters>`,
    );
  return copy;
}

function summarize(
  s: {
    summary: { requests: number; uniqueIps: number; parsed: number; lines: number };
    partial: boolean;
    stoppedBecause: string | null;
  },
  r: AnalysisResult,
): string {
  const bots = Object.entries(r.requestsByClass)
    .filter(([c, n]) => c !== 'human' && n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${((n / Math.max(1, r.requests)) * 100).toFixed(1)}%`);
  const lines = [
    `${s.summary.requests} requests from ${s.summary.uniqueIps} IPs (${s.summary.parsed} of ${s.summary.lines} lines parsed)${r.timeRange ? `, ${r.timeRange.from} to ${r.timeRange.to}` : ''}.`,
    `Threats: ${r.clientsByThreat.critical} critical, ${r.clientsByThreat.high} high, ${r.clientsByThreat.medium} medium IPs; ${r.clusters.length} cluster(s).`,
  ];
  if (bots.length > 0) lines.push(`Bots: ${bots.slice(0, 6).join(', ')}.`);
  const bursts = r.traffic.bursts;
  if (bursts.length > 0) {
    const worst = bursts.reduce((a, b) => (b.hostileRequests > a.hostileRequests ? b : a));
    lines.push(
      `Hostile bursts: ${bursts.length}, the largest ${worst.from} to ${worst.to} (${worst.hostileRequests} hostile requests).`,
    );
  }
  for (const c of r.clients
    .filter((c) => c.threatLevel === 'critical' || c.threatLevel === 'high')
    .slice(0, 5))
    lines.push(
      `- [${c.threatLevel}] ${c.ip} (${c.requests} req, score ${c.threatScore}): ${c.reasons.map((x) => x.id).join(', ')}`,
    );
  for (const k of r.clusters.slice(0, 3))
    lines.push(
      `- cluster [${k.threatLevel}] ${k.kind} ${k.fingerprint.slice(0, 60)}: ${k.ipCount} IPs, ${k.requests} req`,
    );
  if (r.recommendations.addresses.length > 0)
    lines.push(
      `Block recommendations for ${r.recommendations.addresses.length} address(es) in "recommendations".`,
    );
  if (s.partial) lines.push(`PARTIAL: ${s.stoppedBecause}; narrow with since/until or fewer paths.`);
  return lines.join('\n');
}

/** DNS-checks the busiest claimed crawlers, a few at a time, within the call's deadline. */
async function verifyClaims(
  ctx: ToolContext,
  claimed: Array<{ ip: string; engine: string }>,
  deadline: number,
): Promise<{ verdicts: Map<string, VerifyOutcome>; note: string }> {
  const verdicts = new Map<string, VerifyOutcome>();
  if (claimed.length === 0) return { verdicts, note: 'no client claimed a verifiable search engine' };
  const verifier = ctx.outbound.botVerifier;
  const chosen = claimed.slice(0, MAX_VERIFY);
  let next = 0;
  const worker = async () => {
    while (next < chosen.length && !ctx.signal.aborted && Date.now() < deadline) {
      const c = chosen[next++] as { ip: string; engine: string };
      verdicts.set(c.ip, await verifier.verify(c.ip, c.engine));
    }
  };
  await Promise.all(Array.from({ length: Math.min(VERIFY_CONCURRENCY, chosen.length) }, worker));
  const tally = { verified: 0, failed: 0, unknown: 0 };
  for (const v of verdicts.values()) tally[v.verdict]++;
  const skipped = claimed.length - verdicts.size;
  return {
    verdicts,
    note:
      `${claimed.length} claimed: ${tally.verified} verified, ${tally.failed} failed (fake), ${tally.unknown} unknown` +
      (skipped > 0 ? `, ${skipped} not checked (only the ${MAX_VERIFY} busiest, within the deadline)` : '') +
      (verifier.available ? '' : '; DNS is failing, its breaker is open'),
  };
}
