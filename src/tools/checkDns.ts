import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  type Answer,
  analyzeDns,
  normalizeRecord,
  type Rcode,
  RECORD_TYPES,
  type RecordType,
} from '../audit/dns/dnsAnalysis.js';
import { worstFirst } from '../audit/findings.js';
import { scoreFindings } from '../audit/health/score.js';
import { BreakerOpenError } from '../resilience/resilience.js';
import { splitHostPort } from '../net/hostPort.js';
import { findingSchema } from './runHealthCheck.js';
import { deadlineSignal, defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, orNull } from './schemas.js';

/** NXDOMAIN and NODATA are answers, not failures of the resolver. */
const ANSWER_CODES: Record<string, Rcode> = { ENOTFOUND: 'NXDOMAIN', ENODATA: 'NODATA' };
const FAILURE_CODES: Record<string, Rcode> = {
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED',
  ETIMEOUT: 'TIMEOUT',
};

const resolverSpec = z.string().refine(
  (s) => {
    const hp = splitHostPort(s, 53);
    return hp !== undefined && isIP(hp.host) !== 0;
  },
  { error: 'must be an IP or IP:port ([v6]:port), port 1-65535' },
);

export const checkDnsTool = defineTool({
  name: 'check_dns',
  title: 'Check DNS',
  description:
    'Does DNS say what it should, everywhere? Asks each resolver for each name and type: answers, ' +
    'rcode and timing, with findings for NXDOMAIN, SERVFAIL, timeouts, resolvers that disagree, ' +
    'answers that miss `expect`, and missing CAA, SPF or DMARC.',
  details:
    'Does DNS say what it should, everywhere? `names` (1-50) x `types` (A, AAAA, CNAME, MX, TXT, NS, ' +
    'CAA; default A, AAAA, MX, TXT, CAA) x `resolvers` (IP or IP:port, up to 5; default ' +
    "`DNS_SERVERS`, else the system's): normalised answers, rcode (NOERROR, NODATA, NXDOMAIN, " +
    'SERVFAIL, REFUSED, TIMEOUT), response time. Findings: NXDOMAIN, SERVFAIL and timeouts high, ' +
    'resolvers that disagree medium, answers that miss `expect` high (`{"name": [addresses]}` or ' +
    '`{"name MX": ["10 mx.example.org"]}`), and missing CAA, SPF and DMARC info. Each resolver has ' +
    'its own circuit breaker. Cheap: one query per name, type and resolver.',
  inputSchema: {
    names: z
      .array(boundedString(1, 253).regex(/^[A-Za-z0-9_.-]+$/, 'must be a DNS name'))
      .min(1)
      .max(50),
    types: z.array(z.enum(RECORD_TYPES)).min(1).max(7).default(['A', 'AAAA', 'MX', 'TXT', 'CAA']),
    resolvers: z
      .array(resolverSpec)
      .min(1)
      .max(5)
      .optional()
      .describe('IP or IP:port; default DNS_SERVERS, else the system'),
    expect: z
      .record(boundedString(1, 260), z.array(boundedString(1, 500)).max(50))
      .optional()
      .describe('{"name": [addresses]} or {"name MX": ["10 mx.example.org"]}'),
  },
  outputSchema: {
    answers: z.array(
      z.object({
        resolver: z.string(),
        name: z.string(),
        type: z.enum(RECORD_TYPES),
        rcode: z.enum(['NOERROR', 'NODATA', 'NXDOMAIN', 'SERVFAIL', 'REFUSED', 'TIMEOUT', 'FAILED']),
        values: z.array(z.string()),
        ms: z.number(),
        error: orNull(z.string()),
      }),
    ),
    findings: z.array(findingSchema),
    status: z.enum(['ok', 'warning', 'critical']),
  },
  scope: 'audit:network',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const servers = args.resolvers ?? ctx.config.DNS_SERVERS ?? new Resolver().getServers();
    for (const s of servers) {
      const ip = splitHostPort(s, 53)?.host ?? s;
      const why = ctx.outbound.ssrf.refusal(ip);
      if (why) throw new ToolError(`resolver ${s} refused: ${why}`);
    }
    const names = [...new Set(args.names.map((n) => n.toLowerCase().replace(/\.$/, '')))];
    const wantTxt = args.types.includes('TXT');
    const questions: Array<[string, RecordType]> = names.flatMap((n) =>
      args.types.map((t) => [n, t] as [string, RecordType]),
    );
    // SPF lives in the name's TXT; DMARC at _dmarc.name.
    if (wantTxt) for (const n of names) questions.push([`_dmarc.${n}`, 'TXT']);
    const answers: Answer[] = [];
    const signal = deadlineSignal(ctx);
    await Promise.all(
      servers.map(async (server) => {
        const resolver = new Resolver({ timeout: ctx.config.OUTBOUND_TIMEOUT_MS, tries: 1 });
        resolver.setServers([server]);
        // A few questions in flight per resolver; none started after the deadline.
        let next = 0;
        const worker = async () => {
          while (next < questions.length && !signal.aborted) {
            const [name, type] = questions[next++] as [string, RecordType];
            answers.push(await ask(ctx, resolver, server, name, type, signal));
          }
        };
        await Promise.all(Array.from({ length: 4 }, worker));
      }),
    );
    if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
    const unanswered = servers.length * questions.length - answers.length;
    answers.sort(
      (a, b) =>
        a.name.localeCompare(b.name) || a.type.localeCompare(b.type) || a.resolver.localeCompare(b.resolver),
    );
    const findings = analyzeDns(answers, { expect: args.expect, checkHygiene: true, names }).sort(worstFirst);
    const status = scoreFindings(findings).status;
    const failed = answers.filter((a) =>
      ['SERVFAIL', 'REFUSED', 'TIMEOUT', 'FAILED'].includes(a.rcode),
    ).length;
    const lines = [
      `DNS: ${status.toUpperCase()}: ${answers.length} answers from ${servers.length} resolver(s), ${failed} failed${unanswered > 0 ? `; ${unanswered} not asked: the ${ctx.config.TOOL_DEADLINE_SECONDS} s deadline ran out` : ''}.`,
    ];
    for (const f of findings.filter((x) => x.severity !== 'info').slice(0, 5))
      lines.push(`- [${f.severity}] ${f.title}: ${f.evidence}`);
    return { structured: { answers, findings, status }, summary: lines.join('\n') };
  },
});

async function ask(
  ctx: ToolContext,
  resolver: Resolver,
  server: string,
  name: string,
  type: RecordType,
  signal: AbortSignal,
): Promise<Answer> {
  const started = performance.now();
  const base = { resolver: server, name, type };
  const ms = () => Math.round(performance.now() - started);
  try {
    const records = await ctx.outbound.resilience.guarded(
      'dns',
      server,
      () => resolver.resolve(name, type) as Promise<unknown[]>,
      {
        isAnswer: (err) => ((err as NodeJS.ErrnoException).code ?? '') in ANSWER_CODES,
        signal,
      },
    );
    return {
      ...base,
      rcode: 'NOERROR',
      values: records.map((r) => normalizeRecord(type, r)).sort(),
      ms: ms(),
      error: null,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const answer = ANSWER_CODES[code];
    if (answer) return { ...base, rcode: answer, values: [], ms: ms(), error: null };
    const rcode = FAILURE_CODES[code] ?? 'FAILED';
    const why =
      err instanceof BreakerOpenError
        ? err.message
        : code === 'EBADRESP'
          ? 'malformed reply'
          : `${code || (err as Error).message}`;
    return { ...base, rcode, values: [], ms: ms(), error: why };
  }
}
