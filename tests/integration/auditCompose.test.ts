import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { connectClient, FIXTURES, startInProcess } from '../helpers/servers.js';

const root = mkdtempSync(join(tmpdir(), 'compose-it-'));
const allowed = join(root, 'srv');
const outside = join(root, 'elsewhere');
/** Every planted secret in the fixtures, and one in the server's own environment. */
const PLANTED = /planted/i;
let server: RunningHttp;
let client: Client;

type Finding = {
  rule: string;
  severity: string;
  service: string;
  file: string;
  line: number;
  column: number;
  evidence: string;
};
type Result = {
  projects: Array<{
    files: string[];
    envFiles: string[];
    error: string | null;
    services: Array<{ name: string; findings: Finding[] }>;
    skippedServices: Array<{ name: string }>;
    notes: string[];
  }>;
  status: string;
  findingCounts: Record<string, number>;
  ruleCounts: Record<string, number>;
  truncated: boolean;
};

async function call(args: Record<string, unknown>) {
  return client.callTool({ name: 'audit_compose', arguments: args });
}

async function audit(args: Record<string, unknown>): Promise<{ r: Result; raw: string }> {
  const res = await call(args);
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return { r: res.structuredContent as Result, raw: JSON.stringify(res) };
}

const findings = (r: Result) => r.projects.flatMap((p) => p.services.flatMap((s) => s.findings));

beforeAll(async () => {
  mkdirSync(allowed, { recursive: true });
  mkdirSync(outside, { recursive: true });
  for (const d of ['insecure', 'interp', 'override', 'extends', 'profiles'])
    cpSync(join(FIXTURES, 'compose', 'own', d), join(allowed, d), { recursive: true });
  writeFileSync(join(allowed, 'release.env'), 'IMAGE_TAG=7.4.1\n');
  writeFileSync(join(outside, 'compose.yml'), 'services:\n  x:\n    image: x\n');
  writeFileSync(join(outside, 'secret.env'), 'IMAGE_TAG=1\n');
  // The server's own environment must never reach a result.
  process.env.API_TOKEN = 'planted-process-env';
  server = await startInProcess({ AUDIT_ALLOWED_PATHS: allowed, HOST_ROOT: '/' });
  client = await connectClient(server.url);
});

afterAll(async () => {
  delete process.env.API_TOKEN;
  await client?.close();
  await server?.shutdown('test done');
  rmSync(root, { recursive: true, force: true });
});

describe('audit_compose over MCP', () => {
  it('is listed with its schemas and read-only annotations', async () => {
    const { tools: listed } = await client.listTools();
    const t = listed.find((x) => x.name === 'audit_compose');
    expect(t?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(t?.outputSchema).toBeDefined();
  });

  it('reports findings with exact locations and counts, and never a secret value', async () => {
    const file = join(allowed, 'insecure', 'compose.yml');
    const { r, raw } = await audit({ paths: [file] });
    expect(r.status).toBe('critical');
    expect(r.projects[0]?.files).toEqual([file]);
    const all = findings(r);
    expect(all.find((f) => f.rule === 'compose.volume.docker_socket')).toMatchObject({
      severity: 'critical',
      service: 'web',
      file,
      line: 14,
      column: 9,
    });
    const secrets = all.filter((f) => f.rule === 'compose.secrets.plaintext');
    expect(secrets.map((f) => [f.line, f.evidence.split(' ')[1]])).toEqual([
      [20, 'DB_PASSWORD'],
      [24, 'DATABASE_URL'],
    ]);
    const total = Object.values(r.findingCounts).reduce((a, b) => a + b, 0);
    expect(total).toBe(all.length);
    expect(r.findingCounts.critical).toBe(1);
    expect(r.ruleCounts['compose.secrets.plaintext']).toBe(2);
    expect(raw).not.toMatch(PLANTED);
    const text = (JSON.parse(raw) as { content: Array<{ text: string }> }).content[0]?.text ?? '';
    expect(text).toMatch(/^Compose: CRITICAL: 1 project\(s\), 3 service\(s\); 1 critical, /);
    expect(text).toContain(`web: container runtime socket mounted at ${file}:14:9`);
    expect(r.projects[0]?.notes.some((n) => n.includes('API_TOKEN is not set'))).toBe(true);
  });

  it("merges a directory's override file and interpolates from its .env", async () => {
    const { r, raw } = await audit({ paths: [join(allowed, 'override'), join(allowed, 'interp')] });
    expect(r.projects.map((p) => p.files.map((f) => f.slice(allowed.length)))).toEqual([
      ['/override/compose.yml', '/override/compose.override.yml'],
      ['/interp/compose.yml'],
    ]);
    const all = findings(r);
    expect(all.find((f) => f.rule === 'compose.privileged' && f.service === 'web')?.file).toBe(
      join(allowed, 'override', 'compose.override.yml'),
    );
    expect(all.some((f) => f.rule === 'compose.logging.no_rotation' && f.service === 'web')).toBe(false);
    expect(r.projects[1]?.envFiles).toEqual([join(allowed, 'interp', '.env')]);
    expect(all.find((f) => f.rule === 'compose.image.latest' && f.service === 'cache')?.line).toBe(3);
    expect(raw).not.toMatch(PLANTED);
  });

  it('lets env_file override .env, and applies profiles', async () => {
    const { r } = await audit({ paths: [join(allowed, 'interp')], env_file: join(allowed, 'release.env') });
    const cache = findings(r)
      .filter((f) => f.service === 'cache')
      .map((f) => f.rule);
    expect(cache).not.toContain('compose.image.latest');
    expect(cache).toContain('compose.image.not_pinned');
    const noProfile = await audit({ paths: [join(allowed, 'profiles')] });
    expect(noProfile.r.projects[0]?.skippedServices.map((s) => s.name)).toEqual(['debug']);
    const debug = await audit({ paths: [join(allowed, 'profiles')], profiles: ['debug'] });
    expect(findings(debug.r).some((f) => f.rule === 'compose.privileged' && f.service === 'debug')).toBe(
      true,
    );
  });

  it('caps the findings returned and says so', async () => {
    const { r } = await audit({ paths: [join(allowed, 'insecure')], limit: 3 });
    expect(findings(r)).toHaveLength(3);
    expect(r.truncated).toBe(true);
    expect(findings(r)[0]?.severity).toBe('critical');
  });

  it('refuses paths outside AUDIT_ALLOWED_PATHS with a clear tool error', async () => {
    for (const args of [
      { paths: [join(outside, 'compose.yml')] },
      { paths: [outside] },
      { paths: [join(allowed, 'insecure')], env_file: join(outside, 'secret.env') },
      { paths: [`${allowed}/../elsewhere/compose.yml`] },
    ]) {
      const res = await call(args);
      expect(res.isError).toBe(true);
      const text = (res.content as Array<{ text: string }>)[0]?.text ?? '';
      expect(text).toMatch(/outside the allowed paths .*AUDIT_ALLOWED_PATHS/);
    }
    const missing = await call({ paths: [join(allowed, 'nope.yml')] });
    expect(missing.isError).toBe(true);
    expect((missing.content as Array<{ text: string }>)[0]?.text).toMatch(/no such file or directory/);
    const relative = await call({ paths: ['compose.yml'] });
    expect(relative.isError).toBe(true);
    expect((relative.content as Array<{ text: string }>)[0]?.text).toMatch(/not an absolute path/);
  });

  it('refuses extends files outside the allowed paths, per project', async () => {
    writeFileSync(
      join(allowed, 'escape.yml'),
      `services:\n  a:\n    extends: {file: ${join(outside, 'compose.yml')}, service: x}\n`,
    );
    const res = await call({ paths: [join(allowed, 'escape.yml')] });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toMatch(/outside the allowed paths/);
  });
});
