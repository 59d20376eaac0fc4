import { z } from 'zod';
import { SEVERITIES, type Severity } from '../audit/findings.js';
import { accountNames } from '../audit/permissions/accounts.js';
import { headHasPrivateKey, secretByName, shouldSniff, SNIFF_BYTES } from '../audit/permissions/classify.js';
import {
  judgeEntry,
  PERMISSION_CATEGORIES,
  type PermissionCategory,
  type PermissionFinding,
  withContent,
} from '../audit/permissions/rules.js';
import {
  readAccountFiles,
  readHead,
  resolveScanRoots,
  ScanPathError,
  walkTrees,
  type WalkEntry,
} from '../host/permissionWalk.js';
import { defineTool, ToolError } from './types.js';
import { boundedString, findingCountsSchema, orNull, severitySchema } from './schemas.js';

const permissionFinding = z.object({
  id: z.string().describe('permissions.<category>:<path>'),
  severity: severitySchema,
  title: z.string(),
  evidence: z.string().describe('Mode, owner and why the file counts as a key, credential or config'),
  recommendation: z.string(),
  category: z.enum(PERMISSION_CATEGORIES),
  path: z.string().describe('Host path'),
  kind: z.enum(['file', 'directory']),
  mode: z.string().describe('Current mode in octal, e.g. 0644'),
  expectedMode: z.string().describe('The mode once every finding on this path is fixed'),
  uid: z.number(),
  gid: z.number(),
  user: orNull(z.string()).describe("From the host's /etc/passwd; null when not listed"),
  group: orNull(z.string()).describe("From the host's /etc/group; null when not listed"),
  expectedOwner: orNull(z.string()).describe('user:group it should have (ownership findings only)'),
  fix: z.string().describe('The chmod or chown command, path shell-quoted; for the operator to run'),
});

export const checkPermissionsOutput = {
  findings: z.array(permissionFinding).describe('Worst first, at most `limit`'),
  findingCounts: findingCountsSchema.describe('All findings by severity, before the limit'),
  byCategory: z.record(z.enum(PERMISSION_CATEGORIES), z.number()).describe('All findings by category'),
  truncated: z.boolean().describe('True when findings were cut to `limit`'),
  roots: z.array(z.string()).describe('The host paths scanned (nested ones merged)'),
  scanned: z.object({
    files: z.number(),
    directories: z.number(),
    symlinks: z.number().describe('Seen, not followed and not judged'),
    other: z.number().describe('Sockets, FIFOs and devices: not judged'),
    unreadable: z.number(),
    depthLimited: z.number().describe('Directories below maxDepth, not entered'),
    sniffed: z.number().describe('Files whose first 4 KiB were checked for a private key'),
  }),
  accounts: z.string().describe('Where user and group names came from'),
  partial: z.boolean().describe('True when the walk stopped early: maxFiles, or the deadline'),
  stoppedBecause: orNull(z.string()),
  durationMs: z.number(),
};

export const checkPermissionsTool = defineTool({
  name: 'check_permissions',
  title: 'Check file permissions',
  description:
    'Are secrets and shared places locked down? Walks paths under AUDIT_ALLOWED_PATHS: private keys ' +
    'and credential files readable by group or others or owned by the wrong user, world-writable ' +
    'files and directories, unexpected setuid/setgid binaries. Each finding has mode, owner and the ' +
    'exact chmod/chown.',
  details:
    'Are secrets and shared places locked down? Walks `paths` (files or directories under ' +
    '`AUDIT_ALLOWED_PATHS`; symlinks counted, never followed) and reports private keys (by name: ' +
    'id_rsa, id_ed25519, *.key, signing.key, *.p12 ...; or a PEM/OpenSSH/PGP/PuTTY private key in the ' +
    'first 4 KiB) readable or writable by others (critical) or group (high), credential files (.env, ' +
    '.env.*, .pgpass, .my.cnf, kubeconfig, .kube/config, .netrc, .git-credentials, credentials.json ' +
    '...) exposed to others (high) or group (medium), secrets owned by another user than their ' +
    "directory's owner (medium; low for root), world-writable directories without the sticky bit " +
    '(high), world-writable files (medium), setuid/setgid binaries outside /usr/bin, /usr/sbin, /bin, ' +
    '/sbin, /usr/lib*, /usr/libexec (high) and config files owned by neither root nor their ' +
    "directory's owner (medium). Each finding has the mode, expected mode, uid/gid with names from " +
    "HOST_ROOT's /etc/passwd and /etc/group, and the exact `chmod`/`chown` with the path " +
    'shell-quoted. Reads at most 4 KiB of candidate files and never echoes content. `maxFiles` ' +
    '(100k), `maxDepth` (40), `limit` (100); reports progress (files visited) and stops at ' +
    '`TOOL_DEADLINE_SECONDS` with `partial: true`. About 8k entries/s (all of /usr, 144k entries, in ' +
    '18 s).',
  inputSchema: {
    paths: z.array(boundedString(1, 4096)).min(1).max(50).describe('Files or directories, e.g. ["/srv/app"]'),
    maxFiles: z
      .number()
      .int()
      .min(1)
      .max(2_000_000)
      .default(100_000)
      .describe('Stop after this many entries'),
    maxDepth: z.number().int().min(0).max(256).default(40).describe('Directory levels below each path'),
    limit: z.number().int().min(1).max(1000).default(100).describe('Max findings, worst first'),
  },
  outputSchema: checkPermissionsOutput,
  scope: 'audit:read',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
  async handler(args, ctx) {
    const started = performance.now();
    let roots;
    try {
      roots = await resolveScanRoots(ctx.host.root, ctx.config.AUDIT_ALLOWED_PATHS, args.paths);
    } catch (err) {
      if (err instanceof ScanPathError) throw new ToolError(err.message);
      throw err;
    }
    const accountFiles = await readAccountFiles(ctx.host.root);
    const names = accountNames(accountFiles.passwd, accountFiles.group);

    // Only the worst `limit` can be shown, so each severity keeps at most that many: memory stays
    // bounded on a tree where every file is a finding.
    const kept = new Map<Severity, PermissionFinding[]>(SEVERITIES.map((s) => [s, []]));
    const findingCounts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const byCategory = Object.fromEntries(PERMISSION_CATEGORIES.map((c) => [c, 0])) as Record<
      PermissionCategory,
      number
    >;
    let total = 0;
    let sniffed = 0;
    let visited = 0;
    let lastProgress = 0;
    const deadline = Date.now() + ctx.config.TOOL_DEADLINE_SECONDS * 1000;

    const judge = async (e: WalkEntry) => {
      visited++;
      const parentName = basenameOf(e.hostPath);
      let secret = e.kind === 'file' ? secretByName(e.name, parentName) : undefined;
      if (
        e.kind === 'file' &&
        shouldSniff({ ...e.stats, name: e.name, parentUid: e.parent?.uid, byName: secret })
      ) {
        const head = await readHead(e.realPath, e.stats, SNIFF_BYTES);
        if (head) {
          sniffed++;
          secret = withContent(secret, headHasPrivateKey(head));
        }
      }
      const found = judgeEntry({ ...e, ...e.stats, secret }, names);
      for (const f of found) {
        total++;
        findingCounts[f.severity]++;
        byCategory[f.category]++;
        const bucket = kept.get(f.severity) as PermissionFinding[];
        if (bucket.length < args.limit) bucket.push(f);
      }
      const now = Date.now();
      if (now - lastProgress >= 500) {
        lastProgress = now;
        void ctx
          .progress(visited, undefined, `${visited} files and directories visited, ${total} findings`)
          .catch(() => undefined);
      }
    };

    const { counts, stoppedBecause } = await walkTrees(roots, {
      maxEntries: args.maxFiles,
      maxDepth: args.maxDepth,
      shouldStop: () => {
        if (ctx.signal.aborted) return 'cancelled by the client';
        if (Date.now() > deadline) return `deadline of ${ctx.config.TOOL_DEADLINE_SECONDS} s reached`;
        return null;
      },
      onEntry: judge,
    });
    if (ctx.signal.aborted) throw new ToolError('Cancelled by the client');

    const findings = SEVERITIES.flatMap((s) => kept.get(s) ?? []).slice(0, args.limit);
    const structured = {
      findings,
      findingCounts,
      byCategory,
      truncated: findings.length < total,
      roots: roots.map((r) => r.hostPath),
      scanned: { ...counts, sniffed },
      accounts: accountsNote(accountFiles),
      partial: stoppedBecause !== null,
      stoppedBecause,
      durationMs: Math.round(performance.now() - started),
    };
    await ctx.progress(visited, visited, 'done').catch(() => undefined);
    return { structured, summary: summarize(structured) };
  },
});

function accountsNote(files: { passwd: string | undefined; group: string | undefined }): string {
  const read = [
    files.passwd !== undefined && '/etc/passwd',
    files.group !== undefined && '/etc/group',
  ].filter(Boolean);
  return read.length === 0
    ? 'HOST_ROOT/etc/passwd and /etc/group not readable: owners shown by number'
    : `names from ${read.join(' and ')} under HOST_ROOT`;
}

/** The name of the directory holding a host path (`.ssh` for /home/a/.ssh/id_rsa). */
function basenameOf(hostPath: string): string {
  const parts = hostPath.split('/');
  return parts[parts.length - 2] ?? '';
}

function summarize(s: {
  findings: PermissionFinding[];
  findingCounts: Record<Severity, number>;
  truncated: boolean;
  roots: string[];
  scanned: { files: number; directories: number; symlinks: number };
  partial: boolean;
  stoppedBecause: string | null;
}): string {
  const c = s.findingCounts;
  const lines = [
    `${s.scanned.files} files and ${s.scanned.directories} directories under ${s.roots.join(', ')}: ` +
      `${c.critical} critical, ${c.high} high, ${c.medium} medium, ${c.low} low findings` +
      (s.scanned.symlinks > 0 ? ` (${s.scanned.symlinks} symlinks not followed).` : '.'),
  ];
  for (const f of s.findings.slice(0, 8)) lines.push(`- [${f.severity}] ${f.title} (${f.mode}): ${f.fix}`);
  if (s.truncated)
    lines.push(
      `Showing ${s.findings.length} findings of ${Object.values(c).reduce((a, b) => a + b, 0)}; raise limit or narrow paths.`,
    );
  if (s.partial) lines.push(`PARTIAL: ${s.stoppedBecause}; narrow paths or raise maxFiles.`);
  return lines.join('\n');
}
