import { z } from 'zod';
import type { NtpSample } from '../audit/clock/sntp.js';
import { type Finding, worstFirst } from '../audit/findings.js';
import { scoreFindings } from '../audit/health/score.js';
import { checkClock as localClockGroup } from '../health/clock.js';
import { runCommand } from '../host/runCommand.js';
import { splitHostPort } from '../net/hostPort.js';
import { sntpQuery } from '../net/sntpClient.js';
import { SsrfError } from '../net/ssrf.js';
import { BreakerOpenError } from '../resilience/resilience.js';
import { findingSchema } from './runHealthCheck.js';
import { deadlineSignal, defineTool, type ToolContext } from './types.js';
import { orNull } from './schemas.js';

/** The issue's limits for this tool: medium from 100 ms off, high from 1 s. */
const MEDIUM_MS = 100;
const HIGH_MS = 1000;

const serverSpec = z
  .string()
  .min(1)
  .max(260)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/, 'must be a host name or IP, optionally :port')
  .refine((s) => splitHostPort(s, 123) !== undefined, { error: 'the port must be 1-65535' });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const r1 = (n: number) => Math.round(n * 10) / 10;

export const checkClockTool = defineTool({
  name: 'check_clock',
  title: 'Check clock',
  description:
    "Is this host's clock right? Queries NTP servers (SNTP) and the local time daemon: offset, delay " +
    'and stratum per server, median offset and skew. Offset over 100 ms is medium, over 1 s high.',
  details:
    "Is this host's clock right? An SNTP client (RFC 4330, UDP 123) asks each of `servers` (default " +
    '`NTP_SERVERS`) `samples` times (default 4) and keeps the lowest-delay sample: offset, delay, ' +
    'stratum and reference per server, the median offset and the skew between servers; replies with ' +
    "the wrong mode, a kiss-o'-death, an unsynchronised leap indicator or a mismatched originate " +
    "timestamp are rejected. Adds the local daemon's view (chronyc / timedatectl) when the server " +
    'runs on the audited host. Findings: offset over 100 ms medium, over 1 s high, servers ' +
    'disagreeing low, unreachable servers low (all unreachable high).',
  inputSchema: {
    servers: z.array(serverSpec).min(1).max(10).optional().describe('Default NTP_SERVERS'),
    samples: z.number().int().min(1).max(8).default(4).describe('Queries per server'),
  },
  outputSchema: {
    servers: z.array(
      z.object({
        server: z.string(),
        address: orNull(z.string()),
        reachable: z.boolean(),
        offsetMs: orNull(z.number()).describe('Server minus this host: positive means this host is behind'),
        delayMs: orNull(z.number()),
        stratum: orNull(z.number()),
        refId: orNull(z.string()),
        samples: z.number().describe('Good replies received'),
        error: orNull(z.string()),
      }),
    ),
    medianOffsetMs: orNull(z.number()),
    maxSkewMs: orNull(z.number()).describe("Largest difference between the servers' offsets"),
    localSync: z
      .object({
        synchronized: orNull(z.boolean()),
        offsetMs: orNull(z.number()),
        notes: z.array(z.string()),
      })
      .describe("What the host's own time daemon reports (chronyc, timedatectl)"),
    findings: z.array(findingSchema),
    status: z.enum(['ok', 'warning', 'critical']),
  },
  scope: 'audit:network',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: false, destructiveHint: false },
  async handler(args, ctx) {
    const servers = args.servers ?? ctx.config.NTP_SERVERS;
    const [results, local] = await Promise.all([
      Promise.all(servers.map((s) => askServer(ctx, s, args.samples, deadlineSignal(ctx)))),
      localClockGroup({
        paths: ctx.host,
        thresholds: ctx.config.thresholds,
        run: runCommand,
        signal: ctx.signal,
        now: new Date(),
        allowedLogRoots: ctx.config.AUDIT_ALLOWED_PATHS,
      }),
    ]);
    const ok = results.filter((r) => r.reachable && r.offsetMs !== null);
    const offsets = ok.map((r) => r.offsetMs as number);
    const medianOffsetMs = offsets.length > 0 ? r1(median(offsets)) : null;
    const maxSkewMs = offsets.length > 1 ? r1(Math.max(...offsets) - Math.min(...offsets)) : null;
    const findings: Finding[] = [];
    if (ok.length === 0) {
      findings.push({
        id: 'clock.no_ntp_reply',
        severity: 'high',
        title: 'No NTP server answered',
        evidence: results.map((r) => `${r.server}: ${r.error}`).join('; '),
        recommendation:
          'Check that outbound UDP 123 is allowed (firewall, cloud security group) and the servers are right (NTP_SERVERS).',
      });
    }
    for (const r of results.filter((x) => !x.reachable && ok.length > 0)) {
      findings.push({
        id: `clock.unreachable:${r.server}`,
        severity: 'low',
        title: `NTP server ${r.server} did not answer`,
        evidence: r.error ?? 'no reply',
        recommendation: "Replace it in the time daemon's configuration if it stays unreachable.",
      });
    }
    if (medianOffsetMs !== null && Math.abs(medianOffsetMs) >= MEDIUM_MS) {
      findings.push({
        id: 'clock.offset',
        severity: Math.abs(medianOffsetMs) >= HIGH_MS ? 'high' : 'medium',
        title: `Clock is ${Math.abs(medianOffsetMs)} ms ${medianOffsetMs > 0 ? 'behind' : 'ahead'}`,
        evidence: `median offset ${medianOffsetMs} ms over ${ok.length} server(s): ${ok.map((r) => `${r.server} ${r.offsetMs} ms`).join(', ')}`,
        recommendation:
          'Run a time daemon (chrony or systemd-timesyncd) against reliable servers; check "chronyc tracking". Skewed clocks break TLS, logs and tokens.',
      });
    }
    if (maxSkewMs !== null && maxSkewMs >= MEDIUM_MS) {
      findings.push({
        id: 'clock.servers_disagree',
        severity: 'low',
        title: `NTP servers disagree by ${maxSkewMs} ms`,
        evidence: ok.map((r) => `${r.server}: ${r.offsetMs} ms`).join(', '),
        recommendation:
          'One server is off: drop it, or use at least four so the daemon can outvote a falseticker.',
      });
    }
    findings.push(...local.findings.map((f) => ({ ...f, id: `local.${f.id}` })));
    findings.sort(worstFirst);
    const localSync = {
      synchronized:
        local.metrics['clock.synchronized'] === undefined ? null : local.metrics['clock.synchronized'] === 1,
      offsetMs: local.metrics['clock.offset_ms'] ?? null,
      notes: local.notes,
    };
    const status = scoreFindings(findings).status;
    const lines = [
      `Clock: ${status.toUpperCase()}: ${medianOffsetMs === null ? 'no server answered' : `median offset ${medianOffsetMs} ms over ${ok.length}/${results.length} server(s)`}${localSync.synchronized === null ? '' : `; local daemon ${localSync.synchronized ? 'synchronized' : 'NOT synchronized'}`}.`,
    ];
    for (const f of findings.slice(0, 4)) lines.push(`- [${f.severity}] ${f.title}`);
    return {
      structured: { servers: results, medianOffsetMs, maxSkewMs, localSync, findings, status },
      summary: lines.join('\n'),
    };
  },
});

async function askServer(ctx: ToolContext, server: string, samples: number, deadline: AbortSignal) {
  const base = {
    server,
    address: null as string | null,
    reachable: false,
    offsetMs: null as number | null,
    delayMs: null as number | null,
    stratum: null as number | null,
    refId: null as string | null,
    samples: 0,
    error: null as string | null,
  };
  const { host, port } = splitHostPort(server, 123) ?? { host: server, port: 123 };
  try {
    const resolved = await ctx.outbound.ssrf.resolve(host);
    base.address = resolved.address;
    const got: NtpSample[] = [];
    let lastError: unknown;
    for (let i = 0; i < samples && !deadline.aborted; i++) {
      try {
        got.push(
          await ctx.outbound.resilience.guarded(
            'ntp',
            `${resolved.address}:${port}`,
            (signal) => sntpQuery(resolved.address, port, resolved.family, signal),
            {
              signal: deadline,
              // A bad reply is the server's answer; retrying it would only repeat it.
              isAnswer: (e) => (e as Error).name === 'SntpError',
            },
          ),
        );
      } catch (err) {
        lastError = err;
        if (err instanceof BreakerOpenError) break;
      }
    }
    if (got.length === 0) throw lastError ?? new Error('no reply');
    // NTP practice: the sample with the least delay has the least asymmetry error.
    const best = got.reduce((a, b) => (b.delayMs < a.delayMs ? b : a));
    return {
      ...base,
      reachable: true,
      offsetMs: r1(best.offsetMs),
      delayMs: r1(best.delayMs),
      stratum: best.stratum,
      refId: best.refId,
      samples: got.length,
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      err instanceof SsrfError || err instanceof BreakerOpenError || e.name === 'SntpError'
        ? e.message
        : e.code === 'ABORT_ERR'
          ? 'no reply in time'
          : `${e.code ?? e.message}`;
    return { ...base, error: why };
  }
}
