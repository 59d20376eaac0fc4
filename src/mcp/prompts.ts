/**
 * MCP prompts: guided audits an assistant can start with one click. Each prompt is a plan that
 * names our tools and their arguments; arguments with known values complete (check groups,
 * baseline ids, access logs under AUDIT_ALLOWED_PATHS, time windows).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  completable,
  type GetPromptResult,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { CHECK_GROUPS } from '../audit/health/types.js';
import type { Scope } from '../auth/scopes.js';
import type { BaselineStore } from '../baselines/types.js';
import type { Config } from '../config.js';
import { under } from '../host/hostPaths.js';

/** The scope a principal needs to see and get each prompt (the gate enforces it). */
export const PROMPT_SCOPES: ReadonlyMap<string, Scope> = new Map<string, Scope>([
  ['full_server_audit', 'audit:read'],
  ['bot_incident_triage', 'audit:logs'],
  ['tls_renewal_check', 'audit:network'],
]);

/**
 * The tools each prompt's plan cannot do without: a prompt is offered only when TOOLSETS offers
 * them all, so a plan never names a tool the client cannot call.
 */
export const PROMPT_NEEDS: Readonly<Record<string, readonly string[]>> = {
  full_server_audit: ['detect_system', 'run_health_check', 'compare_baselines'],
  bot_incident_triage: ['analyze_bots'],
  tls_renewal_check: ['check_tls'],
};

/** The prompts a server offering these tools registers. */
export function offeredPrompts(tools: ReadonlySet<string>): string[] {
  return Object.entries(PROMPT_NEEDS)
    .filter(([, needs]) => needs.every((t) => tools.has(t)))
    .map(([name]) => name);
}

const WINDOWS: Record<string, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
};
const MAX_COMPLETIONS = 100;

const startingWith = (values: string[], typed: string | undefined) =>
  values.filter((v) => v.startsWith(typed ?? '')).slice(0, MAX_COMPLETIONS);

/** A bad prompt argument is the caller's to fix: -32602, like a tool's invalid arguments. */
const invalid = (message: string) => new ProtocolError(ProtocolErrorCode.InvalidParams, message);

/** Long steps (a month of logs, many TLS targets) may outlast a tool call: they can run as tasks. */
const TASKS_NOTE =
  'Long steps (a month of logs, many targets, a whole-host check) may run as tasks if your client supports them: you get a task id at once; poll it until it completes, then read its result, instead of waiting on the call.';

function userText(text: string, description: string): GetPromptResult {
  return { description, messages: [{ role: 'user', content: { type: 'text', text } }] };
}

export function registerPrompts(
  server: McpServer,
  deps: { config: Config; baselines: BaselineStore },
  tools: ReadonlySet<string>,
): void {
  const { config, baselines } = deps;
  const offered = new Set(offeredPrompts(tools));

  if (offered.has('full_server_audit'))
    server.registerPrompt(
      'full_server_audit',
      {
        title: 'Full server audit',
        description:
          'Audit this host end to end: what it is, how healthy it is, what changed since the last baseline, its certificates, and a summary with fixes.',
        argsSchema: z.object({
          focus: completable(
            z.string().describe(`One check group (${CHECK_GROUPS.join(', ')}) or all (default)`),
            (typed) => startingWith(['all', ...CHECK_GROUPS], typed),
          ).optional(),
          compareWith: completable(
            z.string().describe('Baseline to compare against: previous (default) or a baseline id'),
            async (typed) => {
              const ids = (await baselines.list({ limit: MAX_COMPLETIONS }).catch(() => [])).map((b) => b.id);
              return startingWith(['previous', ...ids], typed);
            },
          ).optional(),
        }),
      },
      ({ focus, compareWith }) => {
        const group = focus && focus !== 'all' ? focus : undefined;
        if (group !== undefined && !(CHECK_GROUPS as readonly string[]).includes(group))
          throw invalid(`focus must be all or one of ${CHECK_GROUPS.join(', ')}`);
        const checks = group ? `{"checks": ["${group}"]}` : '{}';
        const from = compareWith ?? 'previous';
        return userText(
          [
            'Audit this server end to end and report as a careful SRE would. Use the server-audit tools in this order:',
            '1. detect_system: what the host is (OS, role, web server, databases, control panel, firewall).',
            `2. run_health_check with ${checks}: status, score and findings; it saves a baseline.`,
            `3. compare_baselines with {"from": ${JSON.stringify(from)}, "to": "latest", "trendWindow": 10}: what regressed, what is new, and trends that project a problem (a disk filling, errors growing). If there is no earlier baseline, say so and skip.`,
            ...(tools.has('check_tls')
              ? [
                  "4. check_tls on the host's own public names on port 443 (the web server found in step 1 tells you whether there are any; ask me for the names if you cannot tell): days left, chain, protocols, grade.",
                ]
              : []),
            `${tools.has('check_tls') ? 5 : 4}. Summarise: one line of overall status; then the findings that matter, worst first, each with its evidence and the exact fix; what changed since the baseline; what to watch. Do not repeat healthy details.`,
            TASKS_NOTE,
          ].join('\n'),
          'A full audit of this host',
        );
      },
    );

  if (offered.has('bot_incident_triage'))
    server.registerPrompt(
      'bot_incident_triage',
      {
        title: 'Bot incident triage',
        description:
          'Who is hammering the site? Analyse an access log for abusive clients and fake crawlers, then recommend what to block.',
        argsSchema: z.object({
          logPath: completable(
            z.string().describe('Access log (or glob in the file name) under AUDIT_ALLOWED_PATHS'),
            async (typed) => startingWith(await accessLogs(config), typed),
          ),
          window: completable(
            z.string().describe(`How far back to look: ${Object.keys(WINDOWS).join(', ')} (default 24h)`),
            (typed) => startingWith(Object.keys(WINDOWS), typed),
          ).optional(),
        }),
      },
      ({ logPath, window }) => {
        const span = WINDOWS[window ?? '24h'];
        if (span === undefined) throw invalid(`window must be one of ${Object.keys(WINDOWS).join(', ')}`);
        const since = new Date(Date.now() - span).toISOString();
        return userText(
          [
            `Triage a possible bot incident on this server from ${logPath}, for the last ${window ?? '24h'}.`,
            `1. Call analyze_bots with {"paths": [${JSON.stringify(logPath)}], "since": "${since}", "verifyBots": true}.`,
            '2. Explain who is responsible for the load: the top clients by score with their reasons, clusters (shared user agents, hostile subnets), and crawlers that failed verification (fake Googlebots and the like).',
            '3. Recommend blocks only for high-scoring clients and subnets, never for verified search-engine crawlers or allow-listed clients; give the generated commands for the firewall this host uses (nftables, iptables, CSF or nginx) and say how to undo them.',
            '4. Suggest lasting measures: rate limits, robots.txt rules for AI crawlers, fail2ban jails. Say what the result leaves uncertain (partial reads, unverified crawlers).',
            TASKS_NOTE,
          ].join('\n'),
          'Bot incident triage',
        );
      },
    );

  if (offered.has('tls_renewal_check'))
    server.registerPrompt(
      'tls_renewal_check',
      {
        title: 'TLS renewal check',
        description:
          'When do our certificates expire, and is anything about them wrong? Checks each target and plans renewals.',
        argsSchema: z.object({
          targets: z.string().describe('Comma-separated host, host:port or https:// URLs'),
          warnDays: completable(
            z.string().describe('Flag certificates expiring within this many days (default 30)'),
            (typed) => startingWith(['7', '14', '30', '60', '90'], typed),
          ).optional(),
        }),
      },
      ({ targets, warnDays }) => {
        const list = targets
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
        if (list.length === 0) throw invalid('targets needs at least one host, host:port or URL');
        const days = Number(warnDays ?? '30');
        if (!Number.isInteger(days) || days < 1 || days > 3650)
          throw invalid('warnDays must be a whole number of days from 1 to 3650');
        return userText(
          [
            `Check the TLS certificates of ${list.join(', ')} and plan their renewals.`,
            `1. Call check_tls with {"targets": ${JSON.stringify(list)}, "warnDays": ${days}}.`,
            `2. List each certificate: subject and SANs, issuer, days left, key and signature, grade. Flag every one expiring within ${days} days, and any trust, host-name, chain or protocol problem.`,
            "3. For each flagged certificate, the renewal step: for Let's Encrypt / ACME, check the client's timer or cron and its last run; for a commercial CA, the date to order by. Mention incomplete chains and weak protocols with the configuration line that fixes them.",
          ].join('\n'),
          'TLS renewal check',
        );
      },
    );
}

/** Access logs that exist under the allowed roots (and the usual web-server subdirectories). */
async function accessLogs(config: Config): Promise<string[]> {
  const found: string[] = [];
  for (const root of config.AUDIT_ALLOWED_PATHS) {
    for (const sub of ['', 'nginx', 'apache2', 'httpd']) {
      const dir = sub ? join(root, sub) : root;
      const names = await readdir(under(config.HOST_ROOT, dir)).catch(() => [] as string[]);
      for (const name of names.sort()) if (/access/i.test(name)) found.push(join(dir, name));
      if (found.length >= MAX_COMPLETIONS) return found;
    }
  }
  return found;
}
