import { z } from 'zod';
import { type Finding, subjectFindings, worstFirst } from '../audit/findings.js';
import { scoreFindings } from '../audit/health/score.js';
import { headerFindings, judgeSecurityHeaders } from '../audit/http/securityHeaders.js';
import { type HttpExchange, httpExchange } from '../net/httpProbe.js';
import { SsrfError } from '../net/ssrf.js';
import { BreakerOpenError } from '../resilience/resilience.js';
import { findingSchema } from './runHealthCheck.js';
import { deadlineSignal, defineTool, type ToolContext, ToolError } from './types.js';
import { orNull } from './schemas.js';

const CONCURRENCY = 8;
const SLOW_MS = 1000;
const VERY_SLOW_MS = 3000;

/** A 5xx on an idempotent request is retried; if it persists, the last response is still reported. */
class ServerError extends Error {
  override name = 'ServerError';
  readonly code = 'HTTP_5XX';
  constructor(readonly exchange: HttpExchange) {
    super(`HTTP ${exchange.status}`);
  }
}

const result = z.object({
  url: z.string(),
  finalUrl: orNull(z.string()),
  status: orNull(z.number()),
  redirects: z.array(z.object({ status: z.number(), location: z.string() })),
  timings: z
    .object({
      dnsMs: z.number(),
      connectMs: orNull(z.number()),
      tlsMs: orNull(z.number()),
      firstByteMs: z.number(),
      totalMs: z.number(),
    })
    .nullable()
    .describe('Of the final request; connect/tls/firstByte are times since its start'),
  bytes: orNull(z.number()),
  truncated: z.boolean(),
  headers: z.array(
    z.object({
      name: z.string(),
      value: orNull(z.string()),
      verdict: z.enum(['good', 'weak', 'missing']),
      note: z.string(),
    }),
  ),
  outcome: z.enum(['ok', 'warning', 'critical', 'error']),
  error: orNull(z.string()),
  findings: z.array(findingSchema),
});
type Result = z.infer<typeof result>;

export const checkHttpTool = defineTool({
  name: 'check_http',
  title: 'Check HTTP endpoint',
  description:
    'Is this endpoint up, fast and well configured? Per URL: status, timing (DNS, connect, TLS, first ' +
    'byte), redirects, size and security headers, with findings for bad status, plain HTTP, untrusted ' +
    'certificates, slowness and weak headers. Up to 50 URLs.',
  details:
    'Is this endpoint up, fast and well configured? For each of `urls` (1-50, http/https, 8 at a ' +
    'time): status, latency split into DNS, connect, TLS, first byte and total, redirects followed up ' +
    'to `maxRedirects` (5; every hop re-checked against the SSRF policy), body size (counted, not ' +
    'kept; stops at 5 MiB), and the security headers judged for quality. `method` GET or HEAD, ' +
    '`expectStatus`, `timeoutMs`. A 5xx is retried like a network error and reported if it persists. ' +
    'Findings: unexpected status or 5xx high, 4xx medium, plain HTTP medium, an untrusted certificate ' +
    'high (use check_tls for why), first byte over 1 s low / 3 s medium, too many redirects high, ' +
    'weak or missing headers.',
  inputSchema: {
    urls: z
      .array(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }))
      .min(1)
      .max(50),
    method: z.enum(['GET', 'HEAD']).default('GET'),
    expectStatus: z.number().int().min(100).max(599).optional().describe('Status a healthy endpoint answers'),
    maxRedirects: z.number().int().min(0).max(10).default(5),
    timeoutMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .optional()
      .describe('Per attempt; default OUTBOUND_TIMEOUT_MS'),
  },
  outputSchema: { results: z.array(result), status: z.enum(['ok', 'warning', 'critical']) },
  scope: 'audit:network',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const results: Result[] = new Array(args.urls.length);
    const deadline = deadlineSignal(ctx);
    let next = 0;
    const worker = async () => {
      while (next < args.urls.length && !deadline.aborted) {
        const i = next++;
        results[i] = await checkUrl(ctx, args.urls[i] as string, args, deadline);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, args.urls.length) }, worker));
    if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
    // URLs the deadline left unchecked say so instead of leaving holes.
    for (let i = 0; i < results.length; i++)
      results[i] ??= unchecked(
        args.urls[i] as string,
        `not checked: the ${ctx.config.TOOL_DEADLINE_SECONDS} s deadline ran out`,
      );
    if (results.every((r) => r.outcome === 'error'))
      throw new ToolError(results.map((r) => `${r.url}: ${r.error}`).join('\n'));
    const status = scoreFindings(results.flatMap((r) => r.findings)).status;
    const lines = [`HTTP: ${status.toUpperCase()} over ${results.length} URL(s).`];
    for (const r of results)
      lines.push(
        r.outcome === 'error'
          ? `- ${r.url}: ERROR ${r.error}`
          : `- ${r.url}: ${r.status} in ${r.timings?.totalMs} ms${r.findings[0] ? `; worst: [${r.findings[0].severity}] ${r.findings[0].title}` : ''}`,
      );
    return { structured: { results, status }, summary: lines.join('\n') };
  },
});

/**
 * A URL as results show it: user info replaced by "redacted". A Location header may carry
 * `user:password@`; the redirect is followed as given, but the credentials never reach the
 * answer (the model's context) or the logs.
 */
export function shown(u: URL): string {
  if (u.username === '' && u.password === '') return u.href;
  const copy = new URL(u.href);
  copy.username = 'redacted';
  copy.password = '';
  return copy.href;
}

/** A result with nothing measured yet (or nothing measured at all, with the reason). */
function unchecked(url: string, error: string | null): Result {
  return {
    url,
    finalUrl: null,
    status: null,
    redirects: [],
    timings: null,
    bytes: null,
    truncated: false,
    headers: [],
    outcome: 'error',
    error,
    findings: [],
  };
}

async function checkUrl(
  ctx: ToolContext,
  input: string,
  o: { method: 'GET' | 'HEAD'; expectStatus?: number; maxRedirects: number; timeoutMs?: number },
  deadline: AbortSignal,
): Promise<Result> {
  const base = unchecked(input, null);
  const redirects: Result['redirects'] = [];
  let url = new URL(input);
  try {
    for (let hop = 0; ; hop++) {
      const dnsStart = performance.now();
      const resolved = await ctx.outbound.ssrf.resolve(url.hostname);
      const dnsMs = Math.round((performance.now() - dnsStart) * 10) / 10;
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      let ex: HttpExchange;
      try {
        ex = await ctx.outbound.resilience.guarded(
          'http',
          `${resolved.address}:${port}`,
          async (signal) => {
            const e = await httpExchange(url, resolved, o.method, signal);
            if (e.status >= 500) throw new ServerError(e);
            return e;
          },
          // timeoutMs replaces the configured per-attempt timeout; the deadline bounds the whole call.
          { signal: deadline, timeoutMs: o.timeoutMs, isRetryable: (err) => err instanceof ServerError },
        );
      } catch (err) {
        if (!(err instanceof ServerError)) throw err;
        ex = err.exchange;
      }
      const location = ex.headers.location;
      if (ex.status >= 300 && ex.status < 400 && location) {
        const nextUrl = new URL(location, url);
        redirects.push({ status: ex.status, location: shown(nextUrl) });
        if (nextUrl.protocol !== 'http:' && nextUrl.protocol !== 'https:')
          throw new ToolError(`redirect to ${nextUrl.protocol} refused: only http and https are followed`);
        if (hop >= o.maxRedirects) {
          return finish(base, url, ex, dnsMs, redirects, o, [
            {
              id: `http.too_many_redirects:${input}`,
              severity: 'high',
              title: `${input}: more than ${o.maxRedirects} redirects`,
              evidence: redirects.map((r) => `${r.status} -> ${r.location}`).join(', '),
              recommendation:
                'Fix the redirect chain (a loop, or http <-> https ping-pong between proxy and app).',
            },
          ]);
        }
        url = nextUrl;
        continue;
      }
      return finish(base, url, ex, dnsMs, redirects, o, []);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      err instanceof SsrfError || err instanceof BreakerOpenError || err instanceof ToolError
        ? `${redirects.length > 0 ? `after ${redirects.length} redirect(s) to ${shown(url)}: ` : ''}${e.message}`
        : e.code === 'ECONNREFUSED'
          ? 'connection refused'
          : e.code === 'ABORT_ERR' || e.name === 'AbortError' || e.name === 'TimeoutError'
            ? 'no response in time'
            : `request failed (${e.code ?? e.message})`;
    return { ...base, finalUrl: shown(url), redirects, error: why };
  }
}

function finish(
  base: Result,
  url: URL,
  ex: HttpExchange,
  dnsMs: number,
  redirects: Result['redirects'],
  o: { expectStatus?: number },
  extra: Finding[],
): Result {
  const https = url.protocol === 'https:';
  const headers = judgeSecurityHeaders(ex.headers, { https });
  const subject = base.url;
  const findings: Finding[] = [...extra];
  const add = subjectFindings(subject, findings);
  if (o.expectStatus !== undefined && ex.status !== o.expectStatus)
    add(
      'http.unexpected_status',
      'high',
      `answered ${ex.status}, expected ${o.expectStatus}`,
      `final URL ${shown(url)}`,
      'Check the application and the proxy in front of it (logs, upstream health).',
    );
  else if (o.expectStatus === undefined && ex.status >= 500)
    add(
      'http.server_error',
      'high',
      `answered ${ex.status}`,
      `final URL ${shown(url)} (retried)`,
      'The server or its upstream fails: check the error log and upstream health.',
    );
  else if (o.expectStatus === undefined && ex.status >= 400)
    add(
      'http.client_error',
      'medium',
      `answered ${ex.status}`,
      `final URL ${shown(url)}`,
      'Check the URL, or the access rules that refuse it.',
    );
  if (!https)
    add(
      'http.plaintext',
      'medium',
      'served over plain HTTP',
      `final URL ${shown(url)}`,
      'Redirect http to https (301) and serve the site over TLS.',
    );
  if (https && ex.tlsAuthorized === false)
    add(
      'http.tls_untrusted',
      'high',
      'certificate not trusted',
      ex.tlsError ?? 'not authorized',
      'Run check_tls on this host for the details (chain, expiry, host name).',
    );
  if (ex.firstByteMs >= SLOW_MS)
    add(
      'http.slow',
      ex.firstByteMs >= VERY_SLOW_MS ? 'medium' : 'low',
      `first byte after ${ex.firstByteMs} ms`,
      `connect ${ex.connectMs} ms, tls ${ex.tlsMs} ms, first byte ${ex.firstByteMs} ms`,
      'Profile the application (slow queries, cold caches) and check upstream latency.',
    );
  findings.push(...headerFindings(headers, subject));
  findings.sort(worstFirst);
  return {
    ...base,
    finalUrl: shown(url),
    status: ex.status,
    redirects,
    timings: {
      dnsMs,
      connectMs: ex.connectMs,
      tlsMs: ex.tlsMs,
      firstByteMs: ex.firstByteMs,
      totalMs: ex.totalMs,
    },
    bytes: ex.bytes,
    truncated: ex.truncated,
    headers,
    outcome: scoreFindings(findings).status,
    error: null,
    findings,
  };
}
