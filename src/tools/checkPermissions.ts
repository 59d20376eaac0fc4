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

const permissionFinding = z.object({
  id: z.string().describe('permissions.<category>:<path>'),
  severity: z.enum(SEVERITIES),
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
  user: z.string().nullable().describe("From the host's /etc/passwd; null when not listed"),
  group: z.string().nullable().describe("From the host's /etc/group; null when not listed"),
  expectedOwner: z.string().nullable().describe('user:group it should have (ownership findings only)'),
  fix: z.string().describe('The chmod or chown command, path shell-quoted; for the operator to run'),
});

export const checkPermissionsOutput = {
  findings: z.array(permissionFinding).describe('Worst first, at most `limit`'),
  findingCounts: z
    .record(z.enum(SEVERITIES), z.number())
    .describe('All findings by severity, before the limit'),
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
  stoppedBecause: z.string().nullable(),
  durationMs: z.number(),
};

export const checkPermissionsTool = defineTool({
  name: 'check_permissions',
  title: 'Check file permissions',
  description:
    'Are secrets and shared places locked down? Walks files and directories under AUDIT_ALLOWED_PATHS (symlinks ' +
    'never followed) and reports private keys (by name: id_rsa, *.key, signing.key ...; or a PEM private key in the ' +
    'first 4 KiB) and credential files (.env, .pgpass, .my.cnf, kubeconfig, .netrc, .git-credentials ...) readable by ' +
    'group or others or owned by another user than their directory, world-writable files, world-writable ' +
    'directories without the sticky bit, setuid/setgid binaries outside the system locations, and config files ' +
    'owned by an unexpected user. Each finding has the mode, owner, expected mode and the exact chmod/chown. ' +
    'Reads metadata and at most 4 KiB of candidate files, never echoes content. About 8k entries/s (all of /usr, ' +
    '144k entries, in 18 s); big trees report progress and stop at the deadline with partial results.',
  inputSchema: {
    paths: z
      .array(z.string().min(1).max(4096))
      .min(1)
      .max(50)
      .describe('Files or directories (host paths), e.g. ["/srv/app", "/home/deploy/.ssh"]'),
    maxFiles: z
      .number()
      .int()
      .min(1)
      .max(2_000_000)
      .default(100_000)
      .describe('Stop after visiting this many entries (files, directories, links)'),
    maxDepth: z.number().int().min(0).max(256).default(40).describe('Directory levels below each path'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe('At most this many findings (worst first)'),
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
