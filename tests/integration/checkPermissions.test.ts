import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, Progress } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { connectClient, startInProcess } from '../helpers/servers.js';

// chown needs root; as another user only the ownership cases are skipped (and say so).
const isRoot = process.getuid?.() === 0;
// Ids no account is likely to have, so the expected commands carry numbers.
const STRANGER = 4321;
const OTHER = 4322;

const root = realpathSync(mkdtempSync(join(tmpdir(), 'perm-it-')));
const outside = realpathSync(mkdtempSync(join(tmpdir(), 'perm-it-outside-')));
const PEM_KEY =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBogusBogusBogusBogusBogusBogusBogusBogusBo\n-----END PRIVATE KEY-----\n';
const p = (rel: string) => join(root, rel);

function put(rel: string, mode: number, content = 'x\n'): void {
  writeFileSync(p(rel), content);
  chmodSync(p(rel), mode);
}

type Finding = {
  id: string;
  severity: string;
  category: string;
  path: string;
  mode: string;
  expectedMode: string;
  uid: number;
  gid: number;
  user: string | null;
  expectedOwner: string | null;
  fix: string;
  evidence: string;
};
type Result = {
  findings: Finding[];
  findingCounts: Record<string, number>;
  truncated: boolean;
  roots: string[];
  scanned: { files: number; directories: number; symlinks: number; sniffed: number };
  partial: boolean;
  stoppedBecause: string | null;
};

let server: RunningHttp;
let client: Client;

async function check(args: Record<string, unknown>): Promise<Result> {
  const res = await client.callTool({ name: 'check_permissions', arguments: args });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return res.structuredContent as Result;
}

const byPath = (r: Result, rel: string) => r.findings.filter((f) => f.path === p(rel));

beforeAll(async () => {
  for (const d of ['home/.ssh', 'app', 'shared', 'bin', 'etc']) mkdirSync(p(d), { recursive: true });
  put('home/.ssh/id_rsa', 0o644, PEM_KEY);
  put('home/.ssh/id_ed25519', 0o600, PEM_KEY);
  put('app/.env', 0o640, 'DB_PASSWORD=not-echoed-anywhere\n');
  put('app/.env.example', 0o644, 'DB_PASSWORD=\n');
  put('app/notes.txt', 0o644, `meeting notes\n${PEM_KEY}`);
  put('app/cert.pem', 0o644, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  put(`app/it's.key`, 0o644, 'k');
  put('shared/data.txt', 0o666);
  mkdirSync(p('drop'));
  chmodSync(p('drop'), 0o777);
  mkdirSync(p('tmp'));
  chmodSync(p('tmp'), 0o1777);
  put('bin/helper', 0o4755, '#!/bin/sh\n');
  // Links out of the allowed root: to a readable key file and to a directory full of problems.
  put('../' + outside.split('/').pop() + '/id_rsa', 0o644, PEM_KEY);
  writeFileSync(join(outside, 'loose.txt'), 'x');
  chmodSync(join(outside, 'loose.txt'), 0o666);
  symlinkSync(join(outside, 'id_rsa'), p('app/id_rsa'));
  symlinkSync(outside, p('app/elsewhere'));
  if (isRoot) {
    put('etc/app.conf', 0o644);
    chownSync(p('etc/app.conf'), STRANGER, STRANGER);
    mkdirSync(p('svc'));
    chownSync(p('svc'), OTHER, OTHER);
    put('svc/server.key', 0o600, 'k');
    chownSync(p('svc/server.key'), STRANGER, STRANGER);
    put('svc/settings.yml', 0o644);
    chownSync(p('svc/settings.yml'), OTHER, OTHER);
  }
  server = await startInProcess({ AUDIT_ALLOWED_PATHS: root, HOST_ROOT: '/', TOOL_DEADLINE_SECONDS: '30' });
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('check_permissions over MCP', () => {
  it('is listed, read-only, with its schemas', async () => {
    const { tools: listed } = await client.listTools();
    const t = listed.find((x) => x.name === 'check_permissions');
    expect(t?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(t?.outputSchema).toBeDefined();
  });

  it('flags exposed private keys (by name and by content) and credentials, with exact fixes', async () => {
    const r = await check({ paths: [root] });
    expect(
      byPath(r, 'home/.ssh/id_rsa').map((f) => [f.category, f.severity, f.mode, f.expectedMode, f.fix]),
    ).toEqual([['private_key_exposed', 'critical', '0644', '0600', `chmod 600 '${p('home/.ssh/id_rsa')}'`]]);
    expect(byPath(r, 'app/notes.txt').map((f) => [f.category, f.severity, f.fix])).toEqual([
      ['private_key_exposed', 'critical', `chmod 600 '${p('app/notes.txt')}'`],
    ]);
    expect(byPath(r, 'app/notes.txt')[0]?.evidence).toContain('PEM private key in its first 4 KiB');
    expect(byPath(r, 'app/.env').map((f) => [f.category, f.severity, f.mode, f.fix])).toEqual([
      ['credential_exposed', 'medium', '0640', `chmod 600 '${p('app/.env')}'`],
    ]);
    expect(byPath(r, `app/it's.key`)[0]?.fix).toBe(`chmod 600 '${p('app')}/it'\\''s.key'`);
    // The owner of a temp file is whoever runs the test; names come from /etc/passwd.
    expect(byPath(r, 'home/.ssh/id_rsa')[0]).toMatchObject({
      uid: process.getuid?.(),
      gid: process.getgid?.(),
    });
    if (isRoot) expect(byPath(r, 'home/.ssh/id_rsa')[0]?.user).toBe('root');
  });

  it('leaves alone a 0600 key, a certificate, an env template and a sticky shared dir', async () => {
    const r = await check({ paths: [root] });
    for (const rel of ['home/.ssh/id_ed25519', 'app/cert.pem', 'app/.env.example', 'tmp'])
      expect(byPath(r, rel), rel).toEqual([]);
  });

  it('flags world-writable files, world-writable dirs without sticky, and stray setuid binaries', async () => {
    const r = await check({ paths: [root] });
    expect(byPath(r, 'shared/data.txt').map((f) => [f.category, f.severity, f.fix])).toEqual([
      ['world_writable_file', 'medium', `chmod 664 '${p('shared/data.txt')}'`],
    ]);
    expect(byPath(r, 'drop').map((f) => [f.category, f.severity, f.mode, f.fix])).toEqual([
      ['world_writable_dir', 'high', '0777', `chmod 1777 '${p('drop')}'`],
    ]);
    expect(byPath(r, 'bin/helper').map((f) => [f.category, f.severity, f.mode, f.fix])).toEqual([
      ['setuid', 'high', '4755', `chmod 755 '${p('bin/helper')}'`],
    ]);
  });

  it('never follows symlinks out of the allowed root, and never echoes file content', async () => {
    const res = await client.callTool({ name: 'check_permissions', arguments: { paths: [root] } });
    const r = res.structuredContent as Result;
    expect(r.findings.some((f) => f.path.startsWith(outside) || f.path === p('app/id_rsa'))).toBe(false);
    expect(r.scanned.symlinks).toBe(2);
    const all = JSON.stringify(res);
    expect(all).not.toContain('not-echoed-anywhere');
    expect(all).not.toContain('MC4CAQAw');
    expect((res.content as Array<{ text: string }>)[0]?.text).toMatch(/critical.*\n- \[critical\]/s);
  });

  it.skipIf(!isRoot)(
    'ownership: a secret or config owned by another user than its directory (skipped when not root: chown needs root)',
    async () => {
      const r = await check({ paths: [root] });
      expect(
        byPath(r, 'svc/server.key').map((f) => [f.category, f.severity, f.expectedOwner, f.fix]),
      ).toEqual([
        ['secret_owner', 'medium', `${OTHER}:${OTHER}`, `chown ${OTHER}:${OTHER} '${p('svc/server.key')}'`],
      ]);
      expect(byPath(r, 'svc/settings.yml')).toEqual([]);
      expect(byPath(r, 'etc/app.conf').map((f) => [f.category, f.severity, f.uid, f.fix])).toEqual([
        ['config_owner', 'medium', STRANGER, `chown root:root '${p('etc/app.conf')}'`],
      ]);
    },
  );

  it('reports progress (files visited) and stops at maxFiles with partial results', async () => {
    const progress: Progress[] = [];
    const res = await client.request(
      { method: 'tools/call', params: { name: 'check_permissions', arguments: { paths: [root] } } },
      { onprogress: (x) => progress.push(x) },
    );
    const r = res.structuredContent as Result;
    const last = progress.at(-1);
    expect(last?.progress).toBe(r.scanned.files + r.scanned.directories);
    expect(last?.total).toBe(last?.progress);
    const cut = await check({ paths: [root], maxFiles: 4 });
    expect(cut.partial).toBe(true);
    expect(cut.stoppedBecause).toBe('maxFiles (4) reached');
  });

  it('cuts findings to limit, worst first, and says so', async () => {
    const r = await check({ paths: [root], limit: 2 });
    expect(r.findings).toHaveLength(2);
    expect(r.findings.every((f) => f.severity === 'critical')).toBe(true);
    expect(r.truncated).toBe(true);
    expect(r.findingCounts.critical).toBeGreaterThanOrEqual(2);
  });

  it.each([
    [['/etc'], `/etc is outside the allowed paths (${root}); set AUDIT_ALLOWED_PATHS to allow it`],
    [[join(root, 'app/elsewhere')], 'outside the allowed paths'],
    [[`${root}/../${outside.split('/').pop()}`], 'outside the allowed paths'],
    [['relative/path'], 'is not an absolute path'],
    [[join(root, 'missing')], `${join(root, 'missing')}: no such file or directory`],
  ])('refuses %j with a clear tool error', async (paths, message) => {
    const res = await client.callTool({ name: 'check_permissions', arguments: { paths } });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain(message);
  });
});
