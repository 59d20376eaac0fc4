import { realpath, stat } from 'node:fs/promises';
import { z } from 'zod';
import { SEVERITIES, SEVERITY_RANK, type Severity } from '../audit/findings.js';
import { parseFingerprintList } from '../audit/secrets/fingerprint.js';
import { RULES_BY_ID, type RuleInfo } from '../audit/secrets/rules.js';
import { looksBinary, scanText, type SecretMatch } from '../audit/secrets/scanText.js';
import { confinePath, PathNotAllowedError } from '../host/confine.js';
import { newWalkStats, readFileUpTo, type TreeFile, walkTree, type WalkOptions } from '../host/fileTree.js';
import { readVerified } from '../host/verifiedFile.js';
import { under } from '../host/hostPaths.js';
import { deadlineSignal, defineTool, type ToolContext, ToolError } from './types.js';
import { boundedString, orNull, severitySchema } from './schemas.js';

const MIB = 1024 * 1024;
/** Matches kept per file and per call (for sorting); more are counted, not kept. */
const MAX_MATCHES_PER_FILE = 1000;
const MAX_MATCHES_KEPT = 20_000;
const MAX_DEPTH = 64;
const MAX_ALLOWLIST_BYTES = 4 * MIB;
const PROGRESS_EVERY_MS = 250;

const glob = boundedString(1, 500).refine((g) => !g.startsWith('!'), {
  error: 'a glob may not start with "!": put it in exclude instead',
});

export const scanSecretsOutput = {
  findings: z
    .array(
      z.object({
        id: z.string().describe('secret.<rule>'),
        rule: z.string().describe('Rule id, e.g. github-pat, private-key, generic-secret'),
        severity: severitySchema,
        title: z.string(),
        file: z.string().describe('Host path of the file'),
        line: z.number().describe('1-based'),
        column: z.number().describe('1-based'),
        preview: z.string().describe('The first 4 characters of the secret, then ***'),
        fingerprint: z
          .string()
          .describe(
            'Stable id of this secret under this rule (16 hex digits of SHA-256): list it in SECRETS_ALLOWLIST_FILE to accept it',
          ),
        evidence: z.string(),
        recommendation: z.string(),
      }),
    )
    .describe('Worst first, then by file and line; at most `limit`'),
  summary: z.object({
    filesScanned: z.number(),
    bytesScanned: z.number(),
    dirsVisited: z.number(),
    findings: z.number().describe('All findings, also those beyond `limit`'),
    bySeverity: z.record(z.string(), z.number()),
    byRule: z.record(z.string(), z.number()),
    allowlisted: z.object({
      fingerprint: z.number().describe('Matches whose fingerprint is in SECRETS_ALLOWLIST_FILE'),
      inline: z
        .number()
        .describe('Lines with an audit:allow or pragma: allowlist secret comment that would have matched'),
    }),
    skipped: z
      .record(z.string(), z.number())
      .describe(
        'Entries not scanned, by reason: gitignored, excluded, not_included, symlink_outside, broken_symlink, already_seen (loops, duplicates), not_regular, unreadable, too_large (maxFileBytes), too_deep, binary, changed_during_scan (a directory replaced while it was walked)',
      ),
  }),
  truncated: z.boolean().describe('True when findings were cut to `limit`'),
  partial: z.boolean().describe('True when the walk stopped early: maxFiles or the deadline'),
  stoppedBecause: orNull(z.string()),
  durationMs: z.number(),
};

export const scanSecretsTool = defineTool({
  name: 'scan_secrets',
  title: 'Scan for hard-coded secrets',
  description:
    'Are there credentials lying in these files? Walks paths under AUDIT_ALLOWED_PATHS for hard-coded ' +
    'secrets (API keys, tokens, private keys, JWTs, passwords). Findings give file, line, rule, a redacted ' +
    'preview and a fingerprint, never the secret. Partial at maxFiles or the deadline.',
  details:
    'Are there credentials lying in these files? Walks `paths` (files or directories under ' +
    '`AUDIT_ALLOWED_PATHS`) and reports hard-coded secrets: AWS key ids and secret keys, GitHub ' +
    '(ghp_, gho_, ghs_/ghu_/ghr_ with their CRC-32 checksum, github_pat_), GitLab, Slack tokens ' +
    'and webhooks, Stripe live keys, OpenAI, Anthropic and Google API keys (formats checked ' +
    'exactly; published sample keys skipped), private key blocks, JWTs, passwords in URLs, and ' +
    'values assigned to credential names (`password=`, `secret:`, `token=`, `creds`, `auth`, ' +
    '`key`, Go/PHP/Java/XML forms; not `*_hash`, `csrf*`, `public*` names) that look random (an ' +
    "entropy bar from `entropyThreshold`, 3.5 bits/char, scaled to the value's length) and are " +
    'not identifiers, code, prose or placeholders (changeme, `${VAR}`, `{{ }}`, `<...>`, ' +
    'your-..., test values). Every secret on a line is reported. Each finding gives file, line, ' +
    'column, rule, severity, a redacted preview (first 4 characters then `***`) and a stable ' +
    'fingerprint; the secret itself is never returned. Honours `.gitignore` (`respectGitignore`, ' +
    'default true; set false for a deployed tree, where `.env` is usually ignored), ' +
    '`include`/`exclude` globs, skips binary files and files over `maxFileBytes` (1 MiB), reads ' +
    'only regular files, follows symlinks only inside the allowed paths, visits each real ' +
    'directory once (loops end). Accept false positives by fingerprint (`SECRETS_ALLOWLIST_FILE`, ' +
    'read per call) or an `audit:allow` or `pragma: allowlist secret` comment on the line. ' +
    'Reports progress (files scanned) and stops at `maxFiles` (100,000) or ' +
    '`TOOL_DEADLINE_SECONDS` with `partial: true`; `limit` (100) caps the findings listed. Rules: ' +
    'docs/rules.md.',
  inputSchema: {
    paths: z.array(boundedString(1, 4096)).min(1).max(50).describe('Files or directories, e.g. ["/srv/app"]'),
    include: z
      .array(glob)
      .max(100)
      .optional()
      .describe('Only files matching these globs, e.g. "*.env", "config/**"'),
    exclude: z.array(glob).max(100).optional().describe('Skip matching files and directories'),
    maxFileBytes: z
      .number()
      .int()
      .min(1)
      .max(64 * MIB)
      .default(MIB)
      .describe('Skip larger files'),
    entropyThreshold: z
      .number()
      .min(0)
      .max(8)
      .default(3.5)
      .describe('Bits/char a random-looking value needs (scaled down for short values); lower finds more'),
    respectGitignore: z
      .boolean()
      .default(true)
      .describe('Skip what .gitignore ignores; false for a deployed tree'),
    maxFiles: z.number().int().min(1).max(1_000_000).default(100_000).describe('Stop after this many files'),
    limit: z.number().int().min(1).max(1000).default(100).describe('Findings to list'),
  },
  outputSchema: scanSecretsOutput,
  scope: 'audit:read',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const started = performance.now();
    const allowlist = await loadAllowlist(ctx.config.SECRETS_ALLOWLIST_FILE, ctx.signal);
    const starts = await confineStarts(ctx, args.paths);
    const realRoots = (
      await Promise.all(
        ctx.config.AUDIT_ALLOWED_PATHS.map((r) => realpath(under(ctx.host.root, r)).catch(() => undefined)),
      )
    ).filter((r): r is string => r !== undefined);

    const deadline = deadlineSignal(ctx);
    const stats = newWalkStats();
    let stoppedBecause: string | null = null;
    const shouldStop = () => {
      if (stoppedBecause) return true;
      if (stats.filesVisited >= args.maxFiles) stoppedBecause = `maxFiles (${args.maxFiles}) reached`;
      else if (deadline.aborted && !ctx.signal.aborted)
        stoppedBecause = `deadline of ${ctx.config.TOOL_DEADLINE_SECONDS} s reached`;
      return stoppedBecause !== null;
    };
    const walk: WalkOptions = {
      realRoots,
      include: args.include ?? [],
      exclude: args.exclude ?? [],
      gitignore: args.respectGitignore,
      maxFileBytes: args.maxFileBytes,
      maxDepth: MAX_DEPTH,
      signal: deadline,
      shouldStop,
    };

    const kept: Array<SecretMatch & { file: string }> = [];
    let total = 0;
    let bytesScanned = 0;
    let filesScanned = 0;
    let binary = 0;
    let inline = 0;
    let byFingerprint = 0;
    const byRule: Record<string, number> = {};
    const bySeverity: Record<string, number> = {};
    let lastProgress = 0;

    const scanFile = async (file: TreeFile) => {
      let content: Awaited<ReturnType<typeof readFileUpTo>>;
      try {
        content = await readFileUpTo(file.realPath, args.maxFileBytes);
      } catch {
        stats.skipped.unreadable++;
        return;
      }
      if (content === 'not_regular' || content === 'too_large') {
        stats.skipped[content]++;
        return;
      }
      if (looksBinary(content)) {
        binary++;
        return;
      }
      filesScanned++;
      bytesScanned += content.length;
      const r = scanText(content.toString('utf8'), {
        entropyThreshold: args.entropyThreshold,
        maxMatches: MAX_MATCHES_PER_FILE,
      });
      inline += r.inlineAllowed;
      total += r.dropped;
      for (const m of r.matches) {
        if (allowlist.has(m.fingerprint)) {
          byFingerprint++;
          continue;
        }
        total++;
        const rule = RULES_BY_ID.get(m.ruleId) as RuleInfo;
        byRule[rule.id] = (byRule[rule.id] ?? 0) + 1;
        bySeverity[rule.severity] = (bySeverity[rule.severity] ?? 0) + 1;
        if (kept.length < MAX_MATCHES_KEPT) kept.push({ ...m, file: file.hostPath });
      }
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        void ctx.progress(filesScanned, undefined, `${filesScanned} files scanned`).catch(() => undefined);
      }
    };

    const seen = new Set<string>();
    for (const s of starts) {
      if (shouldStop() || deadline.aborted) break;
      if (s.kind === 'file') {
        // A file named explicitly is scanned whatever include, exclude and .gitignore say.
        if (seen.has(s.realPath)) continue;
        seen.add(s.realPath);
        stats.filesVisited++;
        if (s.size > args.maxFileBytes) stats.skipped.too_large++;
        else await scanFile(s);
        continue;
      }
      for await (const file of walkTree(s, walk, stats, seen)) {
        await scanFile(file);
        if (deadline.aborted) break;
      }
    }
    if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');
    if (deadline.aborted && !stoppedBecause)
      stoppedBecause = `deadline of ${ctx.config.TOOL_DEADLINE_SECONDS} s reached`;
    await ctx.progress(filesScanned, filesScanned, `${filesScanned} files scanned`).catch(() => undefined);

    kept.sort(
      (a, b) =>
        SEVERITY_RANK[severityOf(a.ruleId)] - SEVERITY_RANK[severityOf(b.ruleId)] ||
        (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
        a.line - b.line ||
        a.column - b.column,
    );
    const findings = kept.slice(0, args.limit).map((m) => {
      const rule = RULES_BY_ID.get(m.ruleId) as RuleInfo;
      return {
        id: `secret.${rule.id}`,
        rule: rule.id,
        severity: rule.severity,
        title: rule.title,
        file: m.file,
        line: m.line,
        column: m.column,
        preview: m.preview,
        fingerprint: m.fingerprint,
        evidence: `${m.file}:${m.line}:${m.column}: ${m.preview} (fingerprint ${m.fingerprint})`,
        recommendation: rule.recommendation,
      };
    });
    const structured = {
      findings,
      summary: {
        filesScanned,
        bytesScanned,
        dirsVisited: stats.dirsVisited,
        findings: total,
        bySeverity,
        byRule,
        allowlisted: { fingerprint: byFingerprint, inline },
        skipped: nonZero({ ...stats.skipped, binary }),
      },
      truncated: total > findings.length,
      partial: stoppedBecause !== null,
      stoppedBecause,
      durationMs: Math.round(performance.now() - started),
    };
    return { structured, summary: summarize(structured) };
  },
});

function severityOf(ruleId: string): Severity {
  return (RULES_BY_ID.get(ruleId) as RuleInfo).severity;
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

type Start = (TreeFile & { kind: 'file' }) | { kind: 'dir'; hostPath: string; realPath: string };

/** Each client path confined to AUDIT_ALLOWED_PATHS (after symlinks) and checked to exist. */
async function confineStarts(ctx: ToolContext, paths: string[]): Promise<Start[]> {
  const out: Start[] = [];
  for (const p of paths) {
    let real: string;
    try {
      real = await confinePath(ctx.host.root, ctx.config.AUDIT_ALLOWED_PATHS, p);
    } catch (err) {
      if (err instanceof PathNotAllowedError) throw new ToolError(err.message);
      const code = (err as NodeJS.ErrnoException).code;
      throw new ToolError(
        code === 'ENOENT' ? `${p}: no such file or directory` : `${p}: cannot open (${code ?? 'error'})`,
      );
    }
    const st = await stat(real).catch((err: NodeJS.ErrnoException) => {
      throw new ToolError(`${p}: cannot open (${err.code ?? 'error'})`);
    });
    if (st.isDirectory()) out.push({ kind: 'dir', hostPath: p.replace(/(.)\/+$/, '$1'), realPath: real });
    else if (st.isFile()) out.push({ kind: 'file', hostPath: p, realPath: real, size: st.size });
    else
      throw new ToolError(
        `${p} is not a regular file or a directory (sockets, FIFOs and devices are not read)`,
      );
  }
  return out;
}

/** SECRETS_ALLOWLIST_FILE, read on every call so edits apply without a restart. */
async function loadAllowlist(path: string | undefined, signal?: AbortSignal): Promise<Set<string>> {
  if (!path) return new Set();
  let text: string;
  try {
    // Opened by handle like any file a tool reads (src/host/verifiedFile.ts): a FIFO put there
    // cannot hang every scan. An operator's path may be a symlink (a mounted ConfigMap): resolved once.
    const buf = await readVerified(await realpath(path), MAX_ALLOWLIST_BYTES, { signal });
    if (buf === 'not_regular') throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (buf === 'too_large') throw Object.assign(new Error('too big'), { code: 'EFBIG' });
    text = buf.toString('utf8');
  } catch (err) {
    throw new ToolError(
      `SECRETS_ALLOWLIST_FILE (${path}) cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): create it (one fingerprint per line, # comments) or unset the variable`,
    );
  }
  const parsed = parseFingerprintList(text);
  if ('badLine' in parsed)
    throw new ToolError(
      `SECRETS_ALLOWLIST_FILE (${path}) line ${parsed.badLine} is not a fingerprint: each line holds the 16 hex digits of a scan_secrets finding's fingerprint (or a # comment)`,
    );
  return parsed.fingerprints;
}

function summarize(s: {
  findings: Array<{ severity: string; rule: string; file: string; line: number; preview: string }>;
  summary: {
    filesScanned: number;
    findings: number;
    bySeverity: Record<string, number>;
    skipped: Record<string, number>;
  };
  truncated: boolean;
  partial: boolean;
  stoppedBecause: string | null;
}): string {
  const sum = s.summary;
  const lines: string[] = [];
  if (sum.findings === 0) lines.push(`No secrets found in ${sum.filesScanned} files scanned.`);
  else {
    const sev = SEVERITIES.filter((v) => sum.bySeverity[v])
      .map((v) => `${sum.bySeverity[v]} ${v}`)
      .join(', ');
    lines.push(`${sum.findings} secret(s) found in ${sum.filesScanned} files scanned (${sev}).`);
    for (const f of s.findings.slice(0, 5))
      lines.push(`- ${f.severity} ${f.rule}: ${f.file}:${f.line} ${f.preview}`);
    if (sum.findings > 5)
      lines.push(`... ${sum.findings - 5} more in "findings"${s.truncated ? ' (cut to limit)' : ''}.`);
  }
  const skipped = Object.entries(sum.skipped).map(([k, n]) => `${n} ${k}`);
  if (skipped.length > 0) lines.push(`Skipped: ${skipped.join(', ')}.`);
  if (s.partial) lines.push(`PARTIAL: ${s.stoppedBecause}; narrow with paths, include or exclude.`);
  return lines.join('\n');
}
