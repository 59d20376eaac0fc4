/**
 * The install routes a new user takes (issue 18), short of the public registries:
 * - the Claude Desktop bundle's manifest.json, validated by the official packer (mcpb);
 * - server.json for the MCP Registry, consistent with package.json (mcpName, version);
 * - the npx route: the package as `npm pack` makes it, installed into an empty folder with its
 *   production dependencies only (from npm's cache, no network), started there by `npx --offline
 *   server-audit-mcp --stdio`, answers initialize.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config.js';
import { tools } from '../../src/tools/index.js';
import { ROOT } from '../helpers/servers.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  mcpName: string;
  bin: Record<string, string>;
};
const readJson = (f: string) => JSON.parse(readFileSync(join(ROOT, f), 'utf8')) as Record<string, unknown>;
const ENV_VARS = new Set(Object.keys(envSchema.shape));
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('Claude Desktop bundle', () => {
  it('manifest.json passes the official packer and matches the package and the tools', async () => {
    const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'mcpb'), [
      'validate',
      join(ROOT, 'manifest.json'),
    ]);
    expect(stdout).toContain('Manifest schema validation passes');
    const m = readJson('manifest.json') as {
      version: string;
      server: { entry_point: string; mcp_config: { args: string[]; env: Record<string, string> } };
      tools: Array<{ name: string; description: string }>;
      user_config: Record<string, { default?: unknown }>;
    };
    expect(m.version).toBe(pkg.version);
    expect(m.server.entry_point).toBe(pkg.bin['server-audit-mcp']);
    expect(m.server.mcp_config.args).toEqual(['${__dirname}/dist/server.js', '--stdio']);
    expect(m.tools).toEqual(tools.map((t) => ({ name: t.name, description: t.description })));
    // Every variable is a real setting; DATA_DIR, AUDIT_ALLOWED_PATHS and the thresholds are user fields.
    for (const [name, value] of Object.entries(m.server.mcp_config.env)) {
      expect(ENV_VARS.has(name), name).toBe(true);
      const key = /^\$\{user_config\.(\w+)\}$/.exec(value)?.[1];
      expect(key && m.user_config[key], name).toBeTruthy();
      // Unset optional fields without a default would reach the server as the literal ${...}.
      expect(m.user_config[key as string]?.default, key).toBeDefined();
    }
    expect(Object.keys(m.server.mcp_config.env)).toEqual(
      expect.arrayContaining(['DATA_DIR', 'AUDIT_ALLOWED_PATHS', 'THRESHOLDS_FILE']),
    );
  });
});

describe('MCP Registry entry', () => {
  it('server.json names the npm package, its version and real settings', () => {
    const s = readJson('server.json') as {
      name: string;
      description: string;
      version: string;
      packages: Array<{
        registryType: string;
        identifier: string;
        version: string;
        transport: { type: string };
        environmentVariables: Array<{ name: string }>;
      }>;
    };
    // The registry verifies npm ownership by package.json's mcpName.
    expect(s.name).toBe(pkg.mcpName);
    expect(s.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    expect(s.description.length).toBeLessThanOrEqual(100);
    expect(s.version).toBe(pkg.version);
    const [npm] = s.packages;
    expect(npm).toMatchObject({ registryType: 'npm', identifier: pkg.name, version: pkg.version });
    expect(npm?.transport.type).toBe('stdio');
    for (const v of npm?.environmentVariables ?? []) expect(ENV_VARS.has(v.name), v.name).toBe(true);
  });
});

describe('npx route from the packed package', () => {
  it('npm pack, install into an empty folder, npx server-audit-mcp --stdio answers initialize', async () => {
    const work = mkdtempSync(join(tmpdir(), 'npx-route-'));
    temps.push(work);
    // dist/ is built (pretest); --ignore-scripts skips the prepare build, which would redo it.
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz')) as string;
    expect(tarball).toBe(`${pkg.name}-${pkg.version}.tgz`);
    const { stdout: listing } = await run('tar', ['tzf', join(work, tarball)]);
    const files = listing.trim().split('\n');
    expect(files).toContain('package/dist/server.js');
    expect(files).toContain('package/dist/tools/index.js');
    // Beside dist/: the MCP Apps pages the server reads at run time (views/), nothing else.
    expect(
      files.filter((f) => !f.startsWith('package/dist/') && !f.startsWith('package/views/')).sort(),
    ).toEqual(['package/LICENSE', 'package/README.md', 'package/package.json']);
    expect(files).toContain('package/views/tls.html');
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);

    // The production dependencies, exactly as locked, from npm's cache (npm ci filled it): no network.
    const app = join(work, 'app');
    mkdirSync(app);
    for (const f of ['package.json', 'package-lock.json'])
      writeFileSync(join(app, f), readFileSync(join(ROOT, f)));
    const npmOffline = ['--offline', '--ignore-scripts', '--no-audit', '--no-fund'];
    await run('npm', ['ci', '--omit=dev', ...npmOffline], { cwd: app });
    writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
    rmSync(join(app, 'package-lock.json'));
    await run('npm', ['install', ...npmOffline, join(work, tarball)], { cwd: app });

    const child = spawn('npx', ['--offline', '-y', 'server-audit-mcp', '--stdio'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', HOME: work, DATA_DIR: join(work, 'data') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stdin.end(
      [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 'npx', version: '1' },
          },
        },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        // A view page reads uPlot from the installed dependency at run time.
        { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'ui://server-audit/bots.html' } },
      ]
        .map((m) => `${JSON.stringify(m)}\n`)
        .join(''),
    );
    const code = await new Promise((resolve) => child.once('close', resolve));
    const answers = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: number; result: Record<string, unknown> });
    const answer = answers.find((a) => a.id === 1) as {
      id: number;
      result: { serverInfo: { name: string; version: string } };
    };
    expect(answer.result.serverInfo).toMatchObject({ name: 'server-audit-mcp', version: pkg.version });
    const page = answers.find((a) => a.id === 2)?.result as { contents: Array<{ text: string }> } | undefined;
    expect(page?.contents[0]?.text).toContain('var uPlot=function');
    expect(code).toBe(0);
  }, 300_000);
});
