/**
 * The first ten minutes of a desktop user (issue 18), with the built server (dist/server.js):
 * - a desktop client starts it over stdio from / as an unprivileged user: the default DATA_DIR
 *   (the per-user data folder) works, run_health_check saves a baseline, and a baseline that
 *   cannot be written is an error naming DATA_DIR;
 * - a DATA_DIR that cannot be written stops start-up with exit 2 and one line naming it;
 * - raw JSON lines written back to back and stdin closed at once still get every answer;
 * - .env in the working directory is read, the real environment wins; LOG_FORMAT=pretty.
 * When the tests run as root, the server runs as `nobody` (setpriv), as a desktop user would.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../helpers/servers.js';

const SERVER = join(ROOT, 'dist', 'server.js');
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** The command line that runs node as an unprivileged user: nobody when we are root, else us. */
function unprivileged(args: string[]): { command: string; args: string[] } {
  return asRoot
    ? {
        command: 'setpriv',
        args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...args],
      }
    : { command: process.execPath, args };
}

/** A folder the unprivileged user owns (a home directory). */
function ownedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  return dir;
}

/** Only what a desktop client passes on: no DATA_DIR, no XDG_DATA_HOME, no CI settings. */
function desktopEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LOG_LEVEL: 'warn', ...extra };
}

function run(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { command, args: argv } = unprivileged(args);
  const child = spawn(command, argv, { env, cwd: opts.cwd ?? '/', stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // Everything at once, then EOF: no pause between the messages.
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const line = (m: object) => `${JSON.stringify(m)}\n`;
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'pipe', version: '1' } },
};
const HOST_ENV = {
  HOST_PROC: join(FIXTURES, 'health', 'healthy', 'proc'),
  HOST_SYS: join(FIXTURES, 'health', 'healthy', 'sys'),
  HOST_ROOT: join(FIXTURES, 'health', 'healthy', 'root'),
};

describe('a desktop client starts the server over stdio from / as an unprivileged user', () => {
  it('uses the per-user data folder; run_health_check saves there; an unwritable one names DATA_DIR', async () => {
    const home = ownedDir('desktop-home-');
    const { command, args } = unprivileged([SERVER, '--stdio']);
    const client = new Client({ name: 'desktop', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command, args, env: desktopEnv(home), cwd: '/', stderr: 'ignore' }),
    );
    try {
      // The real host, as Claude Desktop would audit it; no CPU sampling to keep it quick.
      const ok = (await client.callTool({ name: 'run_health_check', arguments: { cpuSampleMs: 0 } })) as {
        isError?: boolean;
        content: Array<{ text?: string }>;
        structuredContent?: { baselineId?: string | null; status?: string };
      };
      expect(ok.isError, ok.content[0]?.text).toBeFalsy();
      expect(ok.structuredContent?.status).toMatch(/^(ok|warning|critical)$/);
      const dataDir = join(home, '.local', 'share', 'server-audit-mcp');
      const baselines = join(dataDir, 'baselines');
      const [hostDir] = readdirSync(baselines);
      expect(hostDir).toBeDefined();
      expect(readdirSync(join(baselines, hostDir as string))).toContain(
        `${ok.structuredContent?.baselineId}.json`,
      );

      // The folder turns read-only under the running server: the call fails with the setting to change.
      chmodSync(join(baselines, hostDir as string), 0o500);
      const refused = (await client.callTool({
        name: 'run_health_check',
        arguments: { cpuSampleMs: 0, checks: ['resources'] },
      })) as { isError?: boolean; content: Array<{ text?: string }> };
      expect(refused.isError).toBe(true);
      const text = refused.content[0]?.text ?? '';
      expect(text).toContain(`DATA_DIR (${dataDir})`);
      expect(text).toContain('EACCES');
      expect(text).toContain('saveBaseline: false');
    } finally {
      await client.close();
    }
  }, 120_000);

  it('refuses to start, exit 2 and one line naming DATA_DIR, when DATA_DIR cannot be written', async () => {
    // Owned by root (or, unprivileged, made read-only): the server's user cannot create data/ in it.
    const locked = mkdtempSync(join(tmpdir(), 'locked-'));
    chmodSync(locked, asRoot ? 0o755 : 0o555);
    const dataDir = join(locked, 'data');
    const r = await run([SERVER, '--stdio'], desktopEnv(ownedDir('home-'), { DATA_DIR: dataDir }));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `server-audit-mcp: Invalid DATA_DIR (got "${dataDir}"): cannot create or write it (EACCES); set DATA_DIR to a folder this user can write\n`,
    );
    expect(r.stdout).toBe('');
    expect(existsSync(dataDir)).toBe(false);

    // Under a regular file: no user can create it.
    const file = join(ownedDir('home-'), 'file');
    writeFileSync(file, '');
    const r2 = await run([SERVER, '--stdio'], desktopEnv(tmpdir(), { DATA_DIR: join(file, 'data') }));
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
    expect(r2.stderr).toContain('Invalid DATA_DIR');
    expect(r2.stderr).toContain('(ENOTDIR)');
  }, 60_000);
});

describe('stdio over a raw pipe', () => {
  it('answers initialize, a failing and a good tools/call written back to back before stdin closes', async () => {
    const input =
      line(INIT) +
      line({ jsonrpc: '2.0', method: 'notifications/initialized' }) +
      // Fails in the tool (a path outside AUDIT_ALLOWED_PATHS) ...
      line({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'analyze_bots', arguments: { paths: ['/etc/passwd'] } },
      }) +
      // ... fails the input schema ...
      line({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'check_tls', arguments: { targets: [] } },
      }) +
      // ... and works.
      line({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'detect_system', arguments: {} } });
    const home = ownedDir('pipe-home-');
    const r = await run(
      [SERVER, '--stdio'],
      desktopEnv(home, { ...HOST_ENV, DATA_DIR: join(home, 'data') }),
      {
        input,
      },
    );
    const answers = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              id: number;
              result?: { isError?: boolean; content?: Array<{ text: string }> };
            },
        )
        .map((m) => [m.id, m]),
    );
    expect([...answers.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(answers.get(2)?.result?.isError).toBe(true);
    expect(answers.get(2)?.result?.content?.[0]?.text).toContain('AUDIT_ALLOWED_PATHS');
    expect(answers.get(3)?.result?.isError).toBe(true);
    expect(answers.get(4)?.result?.isError).toBeFalsy();
    expect(r.stderr).not.toContain('"abandoned"');
    expect(r.code).toBe(0);
  }, 60_000);
});

describe('.env and log format', () => {
  it('reads .env from the working directory; the real environment wins', async () => {
    const dir = ownedDir('dotenv-');
    writeFileSync(join(dir, '.env'), `TOOLSETS=network\nDATA_DIR=${join(dir, 'data')}\n`);
    const list = line(INIT) + line({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    const names = (stdout: string) =>
      (
        JSON.parse(stdout.trim().split('\n')[1] as string) as { result: { tools: Array<{ name: string }> } }
      ).result.tools
        .map((t) => t.name)
        .sort();
    const fromFile = await run([SERVER, '--stdio'], desktopEnv(dir), { cwd: dir, input: list });
    expect(names(fromFile.stdout)).toEqual(['check_clock', 'check_dns', 'check_http', 'check_tls']);
    expect(existsSync(join(dir, 'data'))).toBe(true);
    const realWins = await run([SERVER, '--stdio'], desktopEnv(dir, { TOOLSETS: 'database' }), {
      cwd: dir,
      input: list,
    });
    expect(names(realWins.stdout)).toEqual(['analyze_slow_queries', 'check_database']);
  }, 60_000);

  it('LOG_FORMAT=pretty prints one readable line per event; JSON otherwise', async () => {
    const home = ownedDir('pretty-');
    const env = desktopEnv(home, { DATA_DIR: join(home, 'data'), LOG_LEVEL: 'info' });
    const pretty = await run([SERVER, '--stdio'], { ...env, LOG_FORMAT: 'pretty' });
    expect(pretty.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}serving on stdio$/m);
    expect(pretty.stderr).not.toContain('{"level"');
    const json = await run([SERVER, '--stdio'], env);
    const first = JSON.parse(json.stderr.split('\n')[0] as string) as { msg: string; level: number };
    expect(first).toMatchObject({ msg: 'serving on stdio', level: 30 });
  }, 60_000);

  it('answers --version and --help without a data folder or config', async () => {
    const r = await run([SERVER, '--version'], {
      PATH: process.env.PATH ?? '',
      DATA_DIR: '/nonexistent/x',
      PORT: 'bad',
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await run([SERVER, '--help'], { PATH: process.env.PATH ?? '' });
    expect(h.stdout).toContain('--stdio');
    const bad = await run([SERVER, '--bogus'], { PATH: process.env.PATH ?? '' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--bogus'");
  }, 30_000);
});
