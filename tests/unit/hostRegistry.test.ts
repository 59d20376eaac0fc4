/**
 * HOSTS_FILE (issue 19): validation with messages naming the file and entry, live reload that
 * keeps the previous registry on a bad edit, and redirects from a registry URL refused.
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/configError.js';
import { AgentPool, AgentUnreachableError, MAX_AGENT_RESPONSE_BYTES } from '../../src/hosts/agentPool.js';
import { type HostEntry, HostRegistry, loadHostsFile } from '../../src/hosts/registry.js';
import { Resilience } from '../../src/resilience/resilience.js';

const dir = mkdtempSync(join(tmpdir(), 'hosts-registry-'));
const keyFile = join(dir, 'agent.key');
writeFileSync(keyFile, 'agent-key-abc\n');

function file(body: string, name = `hosts-${Math.random().toString(36).slice(2)}.yaml`): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

const entry = (name: string, extra = '') =>
  `  - name: ${name}\n    url: http://127.0.0.1:1/mcp\n    apiKeyFile: ${keyFile}\n${extra}`;

describe('loadHostsFile', () => {
  it('reads names, URLs, labels and each agent key', () => {
    const p = file(
      `hosts:\n${entry('web1', '    labels: {role: web, tier: 1}\n')}  - name: db-1\n    url: https://db1.internal:3000/mcp\n    apiKeyEnv: DB1_KEY\n`,
    );
    const data = loadHostsFile(p, { DB1_KEY: ' k2 ' });
    expect(data.hosts).toEqual([
      {
        name: 'web1',
        url: 'http://127.0.0.1:1/mcp',
        labels: { role: 'web', tier: '1' },
        apiKey: 'agent-key-abc',
      },
      { name: 'db-1', url: 'https://db1.internal:3000/mcp', labels: {}, apiKey: 'k2' },
    ]);
  });

  it.each([
    [
      'duplicate names',
      `hosts:\n${entry('web1')}${entry('web1')}`,
      /hosts\.1\.name: duplicate host name "web1"/,
    ],
    ['a bad name', `hosts:\n${entry('Web_1')}`, /hosts\.0\.name: must be 1-63 characters/],
    [
      'a non-http URL',
      `hosts:\n  - name: a\n    url: file:///etc/passwd\n    apiKeyFile: ${keyFile}\n`,
      /hosts\.0\.url: must be an http/,
    ],
    [
      'credentials in the URL',
      `hosts:\n  - name: a\n    url: http://u:p@127.0.0.1/mcp\n    apiKeyFile: ${keyFile}\n`,
      /without user info/,
    ],
    [
      'no key',
      `hosts:\n  - name: a\n    url: http://127.0.0.1/mcp\n`,
      /exactly one of apiKeyFile or apiKeyEnv/,
    ],
    [
      'an unreadable key file',
      `hosts:\n  - name: a\n    url: http://127.0.0.1/mcp\n    apiKeyFile: ${dir}/missing.key\n`,
      /hosts\.0\.apiKeyFile: cannot read .*ENOENT/,
    ],
    [
      'an empty key variable',
      `hosts:\n  - name: a\n    url: http://127.0.0.1/mcp\n    apiKeyEnv: NOPE_UNSET\n`,
      /API key is empty \(variable NOPE_UNSET\)/,
    ],
    ['an unknown field', `hosts:\n${entry('a', '    token: x\n')}`, /hosts\.0: Unrecognized key/],
    ['bad YAML', `hosts: [\n`, /not valid YAML/],
  ])('refuses %s with a ConfigError naming HOSTS_FILE', (_what, body, message) => {
    const p = file(body);
    let err: unknown;
    try {
      loadHostsFile(p, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`Invalid HOSTS_FILE (got "${p}")`);
    expect((err as Error).message).toMatch(message);
    // The agent's key is never part of a message.
    expect((err as Error).message).not.toContain('agent-key-abc');
  });
});

describe('HostRegistry reload', () => {
  const logs: Array<{ level: string; msg: string; obj: object }> = [];
  const log = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', msg, obj }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', msg, obj }),
  };
  let registry: HostRegistry | undefined;
  afterEach(() => registry?.close());

  it('follows edits (including editor-style rename) and keeps the old registry on a bad one', async () => {
    const p = file(`hosts:\n${entry('web1')}`, 'watched.yaml');
    registry = new HostRegistry(p, log, {});
    registry.watch(50);
    expect(registry.hosts.map((h) => h.name)).toEqual(['web1']);

    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(cond()).toBe(true);
    };
    // An editor writes a temporary file and renames it over the original.
    const tmp = join(dir, 'watched.yaml.tmp');
    writeFileSync(tmp, `hosts:\n${entry('web1')}${entry('web2')}`);
    renameSync(tmp, p);
    await until(() => registry?.hosts.length === 2);

    writeFileSync(p, `hosts:\n${entry('web1')}${entry('web1')}`);
    await until(() => logs.some((l) => l.level === 'warn'));
    expect(registry.hosts.map((h) => h.name)).toEqual(['web1', 'web2']);
    expect(JSON.stringify(logs.find((l) => l.level === 'warn'))).toContain('duplicate host name');
  });
});

describe('AgentPool', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const s = createServer(handler);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  it('never follows a redirect from a registry URL', async () => {
    let reached = 0;
    const elsewhere = await listen((_req, res) => {
      reached++;
      res.writeHead(500).end();
    });
    const bouncer = await listen((_req, res) => {
      res.writeHead(307, { location: `${elsewhere}/mcp` }).end();
    });
    const p = file(`hosts:\n  - name: b\n    url: ${bouncer}/mcp\n    apiKeyEnv: K\n`);
    const registry = new HostRegistry(p, { info() {}, warn() {} }, { K: 'key' });
    const resilience = new Resilience({
      timeoutMs: 2000,
      retries: 0,
      retryMinMs: 10,
      retryMaxMs: 10,
      errorThresholdPercentage: 50,
      volumeThreshold: 100,
      resetTimeoutMs: 1000,
      maxBreakers: 10,
    });
    const pool = new AgentPool(registry, resilience, '0.0.0');
    try {
      await expect(
        pool.call(
          registry.find('b')!,
          'detect_system',
          {},
          { signal: new AbortController().signal, deadlineMs: 5000 },
        ),
      ).rejects.toBeInstanceOf(AgentUnreachableError);
      expect(reached).toBe(0);
      expect(pool.status('b').lastError).toEqual(expect.any(String));
    } finally {
      pool.close();
      resilience.shutdown();
    }
  });

  const quietResilience = () =>
    new Resilience({
      timeoutMs: 5000,
      retries: 0,
      retryMinMs: 10,
      retryMaxMs: 10,
      errorThresholdPercentage: 50,
      volumeThreshold: 100,
      resetTimeoutMs: 1000,
      maxBreakers: 10,
    });
  const lookupOf = (hosts: HostEntry[]) => ({
    find: (n: string) => hosts.find((h) => h.name === n),
    onChange() {},
  });
  const opts = () => ({ signal: new AbortController().signal, deadlineMs: 10_000 });

  it('cuts off an agent answer larger than MAX_AGENT_RESPONSE_BYTES', async () => {
    // A "server" that streams an endless JSON body: the pool must stop reading and fail.
    let written = 0;
    const flood = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < 4 * MAX_AGENT_RESPONSE_BYTES && res.write(chunk)) written += chunk.length;
        if (written < 4 * MAX_AGENT_RESPONSE_BYTES) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    const host = { name: 'flood', url: `${flood}/mcp`, labels: {}, apiKey: 'k' };
    const resilience = quietResilience();
    const pool = new AgentPool(lookupOf([host]), resilience, '0.0.0');
    try {
      await expect(pool.call(host, 'detect_system', {}, opts())).rejects.toThrow(/exceeds \d+ bytes/);
      // Stopped well before the whole flood was sent.
      expect(written).toBeLessThan(4 * MAX_AGENT_RESPONSE_BYTES);
    } finally {
      pool.close();
      resilience.shutdown();
    }
  });

  it('refuses a self-registered agent whose address is never a target, before any request', async () => {
    const host = {
      name: 'meta',
      url: 'http://169.254.169.254/mcp',
      labels: {},
      apiKey: 'fleet-key',
      source: 'registered' as const,
      lastHeartbeat: null,
    };
    const resilience = quietResilience();
    const pool = new AgentPool(lookupOf([host]), resilience, '0.0.0');
    try {
      await expect(pool.call(host, 'detect_system', {}, opts())).rejects.toThrow(
        /169\.254\.169\.254.*never a target/,
      );
    } finally {
      pool.close();
      resilience.shutdown();
    }
  });

  it('keeps one breaker per agent address: an agent back at a new URL is not held by the old one', async () => {
    const resilience = new Resilience({
      timeoutMs: 2000,
      retries: 0,
      retryMinMs: 10,
      retryMaxMs: 10,
      errorThresholdPercentage: 50,
      volumeThreshold: 2,
      resetTimeoutMs: 600_000,
      maxBreakers: 10,
    });
    const dead = { name: 'web', url: 'http://127.0.0.1:1/mcp', labels: {}, apiKey: 'k' };
    const hosts: HostEntry[] = [dead];
    const pool = new AgentPool(lookupOf(hosts), resilience, '0.0.0');
    try {
      for (let i = 0; i < 4; i++) await pool.call(dead, 'detect_system', {}, opts()).catch(() => undefined);
      expect(pool.status('web').breaker).toBe('open');
      // The agent restarts elsewhere: a "server" that answers, even if not MCP, is reached.
      let reached = 0;
      const back = await listen((_req, res) => {
        reached++;
        res.writeHead(500).end();
      });
      const moved = { ...dead, url: `${back}/mcp` };
      hosts[0] = moved;
      await pool.call(moved, 'detect_system', {}, opts()).catch(() => undefined);
      expect(reached).toBeGreaterThan(0);
    } finally {
      pool.close();
      resilience.shutdown();
    }
  });
});
