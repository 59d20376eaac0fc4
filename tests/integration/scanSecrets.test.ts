import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Client, Progress } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/audit/secrets/fingerprint.js';
import { ALL_RULES } from '../../src/audit/secrets/rules.js';
import type { RunningHttp } from '../../src/runtime.js';
import { buildSecretTree, type SecretTree } from '../helpers/secretFixtures.js';
import { connectClient, startInProcess } from '../helpers/servers.js';

type Finding = {
  id: string;
  rule: string;
  severity: string;
  file: string;
  line: number;
  column: number;
  preview: string;
  fingerprint: string;
};
type Result = {
  findings: Finding[];
  summary: {
    filesScanned: number;
    findings: number;
    byRule: Record<string, number>;
    allowlisted: { fingerprint: number; inline: number };
    skipped: Record<string, number>;
  };
  truncated: boolean;
  partial: boolean;
  stoppedBecause: string | null;
};

const base = mkdtempSync(join(tmpdir(), 'secrets-it-'));
const allowFile = join(base, 'secrets-allow.txt');
let tree: SecretTree;
let server: RunningHttp;
let client: Client;

async function call(args: Record<string, unknown>, c: Client = client) {
  const res = await c.callTool({ name: 'scan_secrets', arguments: args });
  return { res, json: JSON.stringify(res) };
}

async function scan(args: Record<string, unknown>): Promise<{ r: Result; json: string }> {
  const { res, json } = await call(args);
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return { r: res.structuredContent as Result, json };
}

const key = (p: { file: string; line: number; rule: string }) => `${p.file}:${p.line}:${p.rule}`;

beforeAll(async () => {
  tree = buildSecretTree(base);
  const fp = tree.allowlisted.map((a) => fingerprint(a.rule, a.secret));
  writeFileSync(allowFile, `# accepted after review\n${fp.map((f) => `${f}  # legacy.env`).join('\n')}\n`);
  server = await startInProcess({
    AUDIT_ALLOWED_PATHS: tree.scanRoot,
    HOST_ROOT: '/',
    SECRETS_ALLOWLIST_FILE: allowFile,
  });
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  rmSync(base, { recursive: true, force: true });
});

describe('scan_secrets over MCP', () => {
  it('finds every planted secret with the right rule and line, and nothing else', async () => {
    const { r } = await scan({ paths: [tree.scanRoot], limit: 1000 });
    const got = r.findings.map((f) => ({
      file: relative(tree.scanRoot, f.file),
      line: f.line,
      rule: f.rule,
    }));
    expect(got.map(key).sort()).toEqual(tree.expected.map(key).sort());
    expect(r.summary.findings).toBe(tree.expected.length);
    expect(r.partial).toBe(false);
    expect(r.truncated).toBe(false);

    // Precision and recall per rule over the labelled set (printed for the report).
    const labelled = [...tree.expected, ...tree.knownMisses];
    const want = new Set(labelled.map(key));
    const have = new Set(got.map(key));
    const rows = ALL_RULES.map((rule) => {
      const w = labelled.filter((e) => e.rule === rule.id).map(key);
      const h = got.filter((g) => g.rule === rule.id).map(key);
      const tp = h.filter((k) => want.has(k)).length;
      const fp = h.length - tp;
      const fn = w.filter((k) => !have.has(k)).length;
      const pct = (n: number, d: number) => (d === 0 ? 'n/a' : (n / d).toFixed(2));
      return `| ${rule.id} | ${w.length} | ${tp} | ${fp} | ${fn} | ${pct(tp, tp + fp)} | ${pct(tp, tp + fn)} |`;
    });
    console.log(
      [
        '| rule | planted | TP | FP | FN | precision | recall |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n'),
    );
    // Every rule is exercised by at least one planted secret.
    for (const rule of ALL_RULES)
      expect(
        tree.expected.some((e) => e.rule === rule.id),
        rule.id,
      ).toBe(true);
  });

  it('never returns a secret: only a 4-character preview and a fingerprint', async () => {
    const { r, json } = await scan({ paths: [tree.scanRoot], limit: 1000 });
    for (const secret of tree.secrets) {
      expect(json.includes(secret), 'a planted secret is in the result').toBe(false);
      expect(json.includes(secret.slice(4)), 'the tail of a planted secret is in the result').toBe(false);
    }
    for (const f of r.findings) {
      expect(f.preview).toMatch(/^.{1,4}\*\*\*$/u);
      expect(f.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('honours both allow-lists, .gitignore, binary and size limits, symlinks and special files', async () => {
    const { r } = await scan({ paths: [tree.scanRoot], limit: 1000 });
    const files = new Set(r.findings.map((f) => relative(tree.scanRoot, f.file)));
    for (const f of tree.unreadFiles) expect(files.has(f), f).toBe(false);
    expect(r.findings.some((f) => f.file.startsWith(tree.outside))).toBe(false);
    expect(files.has('app/legacy.env')).toBe(false);
    expect(files.has('app/inline.env')).toBe(false);
    expect(r.summary.allowlisted).toEqual({ fingerprint: 1, inline: 1 });
    expect(r.summary.skipped).toMatchObject({
      gitignored: 3,
      too_large: 1,
      binary: 1,
      symlink_outside: 2,
      broken_symlink: 2,
    });
    // links/up -> .. and links/same.env -> ../.env are not scanned twice.
    expect(r.summary.skipped.already_seen).toBe(2);
    if (tree.fifo) expect(r.summary.skipped.not_regular).toBe(1);
    expect(files.has('app/links/same.env')).toBe(false);
  });

  it('scans what .gitignore hides when asked to (a deployed tree)', async () => {
    const { r } = await scan({ paths: [join(tree.scanRoot, 'app')], respectGitignore: false, limit: 1000 });
    const files = new Set(r.findings.map((f) => relative(tree.scanRoot, f.file)));
    expect(files.has('app/dev.local')).toBe(true);
    expect(files.has('app/build/bundle.js')).toBe(true);
    expect(r.summary.skipped.gitignored).toBeUndefined();
  });

  it('reports the same fingerprints on every run', async () => {
    const a = await scan({ paths: [tree.scanRoot], limit: 1000 });
    const b = await scan({ paths: [join(tree.scanRoot, 'app', '.env')] });
    const fromA = a.r.findings.filter((f) => f.file.endsWith('/app/.env')).map((f) => f.fingerprint);
    expect(b.r.findings.map((f) => f.fingerprint).sort()).toEqual(fromA.sort());
  });

  it('filters by include and exclude globs', async () => {
    const inc = await scan({ paths: [tree.scanRoot], include: ['*.env', '**/config/*.yml'], limit: 1000 });
    const incFiles = new Set(inc.r.findings.map((f) => relative(tree.scanRoot, f.file)));
    expect([...incFiles].sort()).toEqual(['app/.env', 'app/config/settings.yml']);
    const exc = await scan({ paths: [tree.scanRoot], exclude: ['keys', 'app/src/**'], limit: 1000 });
    const excRules = new Set(exc.r.findings.map((f) => f.rule));
    expect(excRules.has('private-key')).toBe(false);
    expect(excRules.has('stripe-secret-key')).toBe(false);
    expect(excRules.has('aws-access-key-id')).toBe(true);
  });

  it('stops at maxFiles with partial results and cuts findings to limit', async () => {
    const { r } = await scan({ paths: [tree.scanRoot], maxFiles: 3, limit: 2 });
    expect(r.partial).toBe(true);
    expect(r.stoppedBecause).toBe('maxFiles (3) reached');
    expect(r.findings.length).toBeLessThanOrEqual(2);
  });

  it('reports progress in files scanned when the client asks for it', async () => {
    const progress: Progress[] = [];
    const res = await client.request(
      { method: 'tools/call', params: { name: 'scan_secrets', arguments: { paths: [tree.scanRoot] } } },
      { onprogress: (p) => progress.push(p) },
    );
    const r = res.structuredContent as Result;
    const last = progress.at(-1);
    expect(last?.progress).toBe(r.summary.filesScanned);
    expect(last?.total).toBe(r.summary.filesScanned);
    for (const p of progress) expect(JSON.stringify(p)).not.toMatch(/live_|ghp_/);
  });

  it.each([
    [{ paths: ['/etc/passwd'] }, `/etc/passwd is outside the allowed paths (`],
    [{ paths: ['relative/dir'] }, 'relative/dir is not an absolute path'],
    [{ paths: ['/nonexistent-dir'] }, 'is outside the allowed paths'],
  ])('refuses paths outside AUDIT_ALLOWED_PATHS with a clear tool error: %j', async (args, message) => {
    const { res } = await call(args);
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain(message);
  });

  it('says when a path inside the allowed root does not exist, or is a symlink out of it', async () => {
    const missing = await call({ paths: [join(tree.scanRoot, 'nope')] });
    expect(missing.res.isError).toBe(true);
    expect((missing.res.content as Array<{ text: string }>)[0]?.text).toBe(
      `${join(tree.scanRoot, 'nope')}: no such file or directory`,
    );
    const out = await call({ paths: [join(tree.scanRoot, 'app/links/outside-dir')] });
    expect(out.res.isError).toBe(true);
    expect((out.res.content as Array<{ text: string }>)[0]?.text).toContain('is outside the allowed paths');
  });

  it('refuses to run with a missing or malformed SECRETS_ALLOWLIST_FILE, without echoing it', async () => {
    const bad = join(base, 'bad-allow.txt');
    writeFileSync(bad, `# ok\n${'0'.repeat(16)}\n${tree.secrets[0]}\n`);
    for (const [file, message] of [
      [join(base, 'missing.txt'), 'cannot be read (ENOENT)'],
      [bad, 'line 3 is not a fingerprint'],
    ] as const) {
      const s = await startInProcess({
        AUDIT_ALLOWED_PATHS: tree.scanRoot,
        HOST_ROOT: '/',
        SECRETS_ALLOWLIST_FILE: file,
      });
      const c = await connectClient(s.url);
      try {
        const { res, json } = await call({ paths: [tree.scanRoot] }, c);
        expect(res.isError).toBe(true);
        expect((res.content as Array<{ text: string }>)[0]?.text).toContain(message);
        expect(json.includes(tree.secrets[0] as string)).toBe(false);
      } finally {
        await c.close();
        await s.shutdown('test done');
      }
    }
  });
});
