import { z } from 'zod';
import { SEVERITIES, worstFirst } from '../audit/findings.js';
import { scoreFindings } from '../audit/health/score.js';
import { analyzeTls, TLS_VERSIONS } from '../audit/tls/tlsAnalysis.js';
import { confinePath, PathNotAllowedError } from '../host/confine.js';
import { readVerified } from '../host/verifiedFile.js';
import { PathChangedError } from '../host/walkGuard.js';
import { SsrfError } from '../net/ssrf.js';
import { parseTlsTarget, probeTls, TargetError } from '../net/tlsProbe.js';
import { BreakerOpenError } from '../resilience/resilience.js';
import { findingSchema } from './runHealthCheck.js';
import { defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, findingCountsSchema, orNull } from './schemas.js';
import { timeoutSignal } from '../resilience/timeoutSignal.js';

const CONCURRENCY = 8;
const MAX_CA_BYTES = 1024 * 1024;

const certSchema = z.object({
  subject: z.string(),
  issuer: z.string(),
  sans: z.array(z.string()),
  serial: z.string(),
  validFrom: z.string(),
  validTo: z.string(),
  keyType: z.string(),
  keyBits: orNull(z.number()),
  curve: orNull(z.string()),
  signatureAlgorithm: z.string(),
  sha256: z.string(),
  selfIssued: z.boolean(),
  ocspUris: z.array(z.string()).describe('OCSP responder URIs (Authority Information Access)'),
  crlUris: z.array(z.string()).describe('CRL distribution point URIs'),
});

const targetResult = z.object({
  target: z.string(),
  host: orNull(z.string()),
  port: orNull(z.number()),
  address: orNull(z.string()).describe('The checked IP the probe connected to'),
  status: z.enum(['ok', 'warning', 'critical', 'error']),
  error: orNull(z.string()).describe('Why the target could not be checked'),
  grade: orNull(z.string()).describe('SSL Labs-style: A+, A, A-, B, C, F, T (trust problem)'),
  gradeReasons: z.array(z.string()).describe('What capped the grade'),
  daysRemaining: orNull(z.number()),
  certificate: certSchema.nullable().describe('The leaf'),
  chain: z
    .array(certSchema)
    .describe(
      'Leaf first, then the issuers: the verified path up to the trusted root when trusted, else what the server sent',
    ),
  trusted: orNull(z.boolean()),
  authorizationError: orNull(z.string()),
  hostnameError: orNull(z.string()),
  protocol: orNull(z.string()),
  cipher: orNull(z.string()),
  protocols: z
    .partialRecord(z.enum(TLS_VERSIONS), z.enum(['accepted', 'refused', 'cannot_test']))
    .describe('Each version probed alone; empty when checkProtocols is false'),
  cipherOrder: orNull(
    z.object({
      below13: orNull(z.boolean()),
      tls13: orNull(z.boolean()),
    }),
  ).describe('Whether the server enforces its suite order; null when protocols were not probed'),
  ocspStapled: orNull(z.boolean()),
  headers: z
    .array(
      z.object({
        name: z.string(),
        value: orNull(z.string()),
        verdict: z.enum(['good', 'weak', 'missing']),
        note: z.string(),
      }),
    )
    .nullable(),
  findings: z.array(findingSchema),
});

export const checkTlsTool = defineTool({
  name: 'check_tls',
  title: 'Check TLS',
  description:
    'When does our certificate expire, and is TLS set up right? Per target: chain, days left, trust, ' +
    'host name match (judged apart), key and signature, TLS versions accepted, cipher order, OCSP/CRL, ' +
    'stapling and HTTPS security headers, with findings and an SSL Labs-style grade. Up to 50 targets.',
  details:
    'When does our certificate expire, and is TLS set up right? `targets` (1-50 of host, ' +
    'host:port or https:// URLs, 8 at a time): the chain (subject, issuer, SANs, serial, ' +
    'validity, days left, key type and size, signature algorithm, SHA-256 fingerprint), trust ' +
    'against the system CAs plus an optional `caFile` (under `AUDIT_ALLOWED_PATHS`), host name ' +
    'match (`servername` for SNI), self-signed and incomplete chains, negotiated protocol and ' +
    'cipher, which of TLS 1.0/1.1/1.2/1.3 the server accepts (`checkProtocols`), whether it ' +
    'enforces its own cipher order (two hellos with the same suites in opposite orders, as ' +
    "testssl.sh does), the certificate's OCSP and CRL URIs, OCSP stapling, and for HTTPS the " +
    'security headers judged for quality (`checkHeaders`). Findings: expired or not yet valid, ' +
    'expiring within `criticalDays` (14) critical and `warnDays` (30) high, host name mismatch ' +
    'critical (judged apart from chain trust: a trusted certificate for another name is not also ' +
    '"untrusted"), untrusted, self-signed or incomplete chain high, RSA < 2048 and SHA-1/MD5 ' +
    'signatures high, TLS 1.0/1.1 medium, TLS 1.2 not offered (nor 1.3) medium and grade capped ' +
    'at C as SSL Labs does, no server cipher order medium, neither OCSP nor CRL URI medium (low ' +
    'when self-signed), missing HSTS medium, other weak or missing headers low. An SSL Labs-style ' +
    'grade (A+ to F, T for trust problems) with the reasons for any cap. Every target is resolved ' +
    'and checked against the SSRF policy first.',
  inputSchema: {
    targets: z.array(boundedString(1, 2048)).min(1).max(50).describe('host, host:port or https:// URLs'),
    servername: boundedString(1, 253).optional().describe('SNI name; default the target host'),
    warnDays: z.number().int().min(1).max(3650).default(30).describe('Expiry within this many days is high'),
    criticalDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(14)
      .describe('Expiry within this many days is critical'),
    checkProtocols: z.boolean().default(true).describe('Probe TLS 1.0-1.3 one by one'),
    checkHeaders: z
      .boolean()
      .optional()
      .describe('Judge HTTP security headers; default for https and port 443'),
    caFile: boundedString(1, 4096).optional().describe('Extra CA bundle (PEM) under AUDIT_ALLOWED_PATHS'),
  },
  outputSchema: {
    results: z.array(targetResult),
    status: z
      .enum(['ok', 'warning', 'critical'])
      .describe('The worst over all targets that could be checked'),
    findingCounts: findingCountsSchema,
    checkedAt: z.string(),
  },
  scope: 'audit:network',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    if (args.criticalDays > args.warnDays)
      throw new ToolError(`criticalDays (${args.criticalDays}) must not exceed warnDays (${args.warnDays})`);
    const ca = args.caFile ? await readCa(ctx, args.caFile) : undefined;
    const now = new Date();
    const results: Array<z.infer<typeof targetResult>> = new Array(args.targets.length);
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < args.targets.length && !ctx.signal.aborted) {
        const i = next++;
        results[i] = await checkOne(ctx, args.targets[i] as string, { ...args, ca, now });
        await ctx.progress(++done, args.targets.length, args.targets[i]).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, args.targets.length) }, worker));
    if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
    const checked = results.filter((r) => r.status !== 'error');
    if (checked.length === 0) {
      throw new ToolError(results.map((r) => `${r.target}: ${r.error}`).join('\n'));
    }
    const all = checked.flatMap((r) => r.findings);
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<
      (typeof SEVERITIES)[number],
      number
    >;
    for (const f of all) counts[f.severity]++;
    const status = scoreFindings(all).status;
    return {
      structured: { results, status, findingCounts: counts, checkedAt: now.toISOString() },
      summary: summarize(results, status),
    };
  },
});

async function readCa(ctx: ToolContext, path: string): Promise<string> {
  try {
    const real = await confinePath(ctx.host.root, ctx.config.AUDIT_ALLOWED_PATHS, path);
    // Opened once by handle and verified (src/host/verifiedFile.ts): a FIFO would hang the read,
    // a symlink swapped in after confinement lead outside the allowed paths, a huge file fill
    // memory. A CA bundle is a small regular file.
    const buf = await readVerified(real, MAX_CA_BYTES, { signal: ctx.signal });
    if (buf === 'not_regular') throw new ToolError(`caFile ${path} is not a regular file`);
    if (buf === 'too_large') throw new ToolError(`caFile ${path} is over 1 MiB: not a CA bundle`);
    const text = buf.toString('utf8');
    if (!text.includes('-----BEGIN CERTIFICATE-----'))
      throw new ToolError(`caFile ${path} holds no PEM certificate`);
    return text;
  } catch (err) {
    if (err instanceof ToolError) throw err;
    if (err instanceof PathNotAllowedError) throw new ToolError(`caFile: ${err.message}`);
    if (err instanceof PathChangedError || (err as NodeJS.ErrnoException).code === 'ELOOP')
      throw new ToolError(`caFile ${path}: changed while it was being opened; call again`);
    throw new ToolError(`caFile ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

const empty = (target: string, error: string): z.infer<typeof targetResult> => ({
  target,
  host: null,
  port: null,
  address: null,
  status: 'error',
  error,
  grade: null,
  gradeReasons: [],
  daysRemaining: null,
  certificate: null,
  chain: [],
  trusted: null,
  authorizationError: null,
  hostnameError: null,
  protocol: null,
  cipher: null,
  protocols: {},
  cipherOrder: null,
  ocspStapled: null,
  headers: null,
  findings: [],
});

async function checkOne(
  ctx: ToolContext,
  input: string,
  o: {
    servername?: string;
    warnDays: number;
    criticalDays: number;
    checkProtocols: boolean;
    checkHeaders?: boolean;
    ca?: string;
    now: Date;
  },
): Promise<z.infer<typeof targetResult>> {
  // Each target has its own deadline: one slow server never holds up the others' answer.
  const budget = ctx.config.OUTBOUND_TIMEOUT_MS * (ctx.config.RETRY_COUNT + 3) + ctx.config.RETRY_MAX_MS;
  const signal = timeoutSignal(Math.min(budget, ctx.config.TOOL_DEADLINE_SECONDS * 1000), ctx.signal);
  try {
    const target = parseTlsTarget(input);
    const resolved = await ctx.outbound.ssrf.resolve(target.host);
    const facts = await probeTls(target, resolved, ctx.outbound.resilience, {
      servername: o.servername,
      ca: o.ca,
      checkProtocols: o.checkProtocols,
      checkHeaders: o.checkHeaders ?? target.https,
      timeoutMs: ctx.config.OUTBOUND_TIMEOUT_MS,
      signal,
    });
    const verdict = analyzeTls(facts, { now: o.now, warnDays: o.warnDays, criticalDays: o.criticalDays });
    const findings = verdict.findings.sort(worstFirst);
    return {
      target: input,
      host: target.host,
      port: target.port,
      address: resolved.address,
      status: scoreFindings(findings).status,
      error: null,
      grade: verdict.grade,
      gradeReasons: verdict.gradeReasons,
      daysRemaining: verdict.daysRemaining,
      certificate: facts.chain[0] ?? null,
      chain: facts.chain,
      trusted: facts.authorized,
      authorizationError: facts.authorizationError,
      hostnameError: facts.hostnameError,
      protocol: facts.protocol,
      cipher: facts.cipher,
      protocols: facts.protocols,
      cipherOrder: facts.cipherOrder,
      ocspStapled: facts.ocspStapled,
      headers: facts.headers,
      findings,
    };
  } catch (err) {
    return empty(input, describeError(err, signal));
  }
}

function describeError(err: unknown, signal: AbortSignal): string {
  if (err instanceof SsrfError || err instanceof TargetError || err instanceof BreakerOpenError)
    return err.message;
  // Deadline aborts can carry a numeric code (DOMException TimeoutError): only strings are errno codes.
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : undefined;
  if (
    signal.aborted ||
    code === 'ABORT_ERR' ||
    (err as Error).name === 'TimeoutError' ||
    (err as Error).name === 'AbortError'
  )
    return 'no TLS handshake within the time allowed (timed out)';
  if (code === 'ECONNREFUSED') return 'connection refused: nothing listens on that port';
  if (code === 'ENOTFOUND') return 'the host name does not resolve';
  if (code === 'ECONNRESET')
    return 'the server reset the connection during the handshake (not TLS on that port?)';
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    code === 'ERR_SSL_HTTP_REQUEST'
  )
    return 'the port does not speak TLS (plain HTTP or another protocol answered the handshake)';
  if (code?.startsWith('ERR_SSL')) {
    // OpenSSL's text ("80EC...:error:0A00010B:SSL routines:...:ssl3_record.c:350:") means
    // nothing to an operator: keep the reason, drop the internals.
    const reason = /SSL routines:[^:]*:([^:]+)/.exec((err as Error).message)?.[1];
    return `TLS handshake failed: ${reason ?? code.slice('ERR_SSL_'.length).toLowerCase().replaceAll('_', ' ')}`;
  }
  return `could not connect (${code ?? (err as Error).message})`;
}

function summarize(results: Array<z.infer<typeof targetResult>>, status: string): string {
  const lines = [`TLS: ${status.toUpperCase()} over ${results.length} target(s).`];
  for (const r of results) {
    if (r.status === 'error') {
      lines.push(`- ${r.target}: ERROR ${r.error}`);
      continue;
    }
    const worst = r.findings[0];
    lines.push(
      `- ${r.target}: grade ${r.grade}, ${r.daysRemaining} days left, ${r.protocol}${worst ? `; worst: [${worst.severity}] ${worst.title.replace(`${r.target}: `, '')}` : ''}`,
    );
  }
  return lines.join('\n');
}
