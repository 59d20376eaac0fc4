/**
 * Self-registered agents (issue 19, fleet mode): AGENT_LABELS parsing, validation of what is
 * read back from Redis, the merge with HOSTS_FILE, and the settings' start-up checks.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  agentNameFromNode,
  HOST_NAME_RE,
  MAX_RECORD_BYTES,
  NODE_NAME_RE,
  mergeHosts,
  parseAgentLabels,
  parseRegistration,
  type Registration,
} from '../../src/hosts/agentRecords.js';
import type { HostEntry } from '../../src/hosts/registry.js';

const record = (over: Partial<Registration> = {}): Registration => ({
  v: 1,
  name: 'web1',
  url: 'http://10.0.0.5:3000/mcp',
  labels: { role: 'web' },
  version: '1.2.3',
  startedAt: '2026-12-06T01:00:00.000Z',
  heartbeatAt: '2026-12-06T01:05:00.000Z',
  heartbeatSeconds: 10,
  instance: '0123456789abcdef',
  ...over,
});

describe('parseAgentLabels (AGENT_LABELS)', () => {
  it('reads name=value pairs, tolerating spaces and empty entries', () => {
    expect(parseAgentLabels('role=web, env = prod,,zone=eu-1,')).toEqual({
      role: 'web',
      env: 'prod',
      zone: 'eu-1',
    });
    expect(parseAgentLabels(undefined)).toEqual({});
    expect(parseAgentLabels('note=a=b')).toEqual({ note: 'a=b' });
    expect(parseAgentLabels('empty=')).toEqual({ empty: '' });
  });

  it.each([
    ['role', /not name=value/],
    ['=web', /not name=value/],
    ['ro le=web', /label name "ro le"/],
    ['a=1,a=2', /given twice/],
    [`v=${'x'.repeat(254)}`, /longer than 253/],
    [Array.from({ length: 33 }, (_, i) => `l${i}=1`).join(','), /at most 32 labels/],
  ])('refuses %s', (text, why) => {
    expect(() => parseAgentLabels(text)).toThrow(why);
  });
});

describe('parseRegistration (a value read from Redis is input)', () => {
  it('accepts a well-formed registration under its own name', () => {
    const r = parseRegistration('web1', JSON.stringify(record()));
    expect(r).toEqual({ ok: true, record: record() });
  });

  it.each([
    ['nothing (expired)', null, /expired/],
    ['an empty string', '', /expired/],
    ['not JSON', 'not json {', /not JSON/],
    ['JSON of another shape', '[1,2,3]', /invalid|expected/i],
    ['a number', '42', /invalid|expected/i],
    ['too large', JSON.stringify(record({ version: 'x'.repeat(MAX_RECORD_BYTES) })), /larger than/],
    ['another version', JSON.stringify({ ...record(), v: 2 }), /^v:/],
    [
      'an unknown field (a key smuggled in)',
      JSON.stringify({ ...record(), apiKey: 'sam_x' }),
      /Unrecognized/,
    ],
    ['a bad name inside', JSON.stringify(record({ name: 'Web_1' })), /^name:/],
    ['another name inside', JSON.stringify(record({ name: 'db1' })), /holds the name "db1"/],
    ['user info in the URL', JSON.stringify(record({ url: 'http://u:p@10.0.0.5/mcp' })), /^url:/],
    ['a file URL', JSON.stringify(record({ url: 'file:///etc/passwd' })), /^url:/],
    ['a bad heartbeat time', JSON.stringify(record({ heartbeatAt: 'yesterday' })), /^heartbeatAt:/],
    ['a zero heartbeat', JSON.stringify(record({ heartbeatSeconds: 0 })), /^heartbeatSeconds:/],
    ['a bad label name', JSON.stringify(record({ labels: { 'a b': 'x' } })), /^labels/],
    [
      'too many labels',
      JSON.stringify(
        record({ labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, '1'])) }),
      ),
      /^labels/,
    ],
    ['a bad instance id', JSON.stringify(record({ instance: 'zz' })), /^instance:/],
  ])('refuses %s', (_what, raw, why) => {
    const r = parseRegistration('web1', raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).toMatch(why);
  });
});

describe('mergeHosts (HOSTS_FILE and registered agents)', () => {
  const file: HostEntry[] = [
    { name: 'web1', url: 'https://web1.internal/mcp', labels: { src: 'file' }, apiKey: 'file-key-web1' },
    { name: 'db1', url: 'https://db1.internal/mcp', labels: {}, apiKey: 'file-key-db1' },
  ];

  it('keeps file entries first, adds registered agents by name with the fleet key', () => {
    const { hosts, shadowed } = mergeHosts(
      file,
      [record({ name: 'node-b' }), record({ name: 'node-a', url: 'http://10.0.0.6:3000/mcp' })],
      'fleet-key',
    );
    expect(shadowed).toEqual([]);
    expect(hosts.map((h) => [h.name, h.source, h.apiKey])).toEqual([
      ['web1', 'file', 'file-key-web1'],
      ['db1', 'file', 'file-key-db1'],
      ['node-a', 'registered', 'fleet-key'],
      ['node-b', 'registered', 'fleet-key'],
    ]);
    expect(hosts[2]).toMatchObject({
      url: 'http://10.0.0.6:3000/mcp',
      labels: { role: 'web' },
      lastHeartbeat: '2026-12-06T01:05:00.000Z',
    });
    expect(hosts[0]?.lastHeartbeat).toBeNull();
  });

  it('lets the HOSTS_FILE entry win on a name clash and reports the shadowed registration', () => {
    const { hosts, shadowed } = mergeHosts(
      file,
      [record({ name: 'web1', url: 'http://10.9.9.9/mcp' }), record({ name: 'web2' })],
      'fleet-key',
    );
    expect(shadowed).toEqual(['web1']);
    const web1 = hosts.filter((h) => h.name === 'web1');
    expect(web1).toHaveLength(1);
    expect(web1[0]).toMatchObject({
      source: 'file',
      url: 'https://web1.internal/mcp',
      apiKey: 'file-key-web1',
    });
    expect(hosts.map((h) => h.name)).toEqual(['web1', 'db1', 'web2']);
  });

  it('works with registered agents alone, or a file alone', () => {
    expect(mergeHosts([], [record()], 'k').hosts.map((h) => h.source)).toEqual(['registered']);
    expect(mergeHosts(file, [], 'k').hosts.map((h) => h.source)).toEqual(['file', 'file']);
  });
});

describe('agentNameFromNode (AGENT_NODE_NAME)', () => {
  it.each([
    ['worker-1', 'worker-1'],
    ['gke-prod-pool-1-3f2a9c1e-x7kq', 'gke-prod-pool-1-3f2a9c1e-x7kq'],
    ['ip-10-0-1-5.ec2.internal', 'ip-10-0-1-5-ec2-internal'],
    ['Node1.Example.COM', 'node1-example-com'],
    ['a..b', 'a-b'],
    ['n1.-x', 'n1--x'],
  ])('%s -> %s', (node, name) => {
    expect(agentNameFromNode(node)).toBe(name);
  });

  it('shortens a name over 63 characters with a hash of the whole node name', () => {
    const long = `${'aks-nodepool1-'.repeat(4)}12345678-vmss000000.internal.cloudapp.net`;
    const name = agentNameFromNode(long);
    expect(name).toMatch(HOST_NAME_RE);
    expect(name).toHaveLength(63);
    expect(name.slice(0, 55)).toBe(`${'aks-nodepool1-'.repeat(4).slice(0, 54)}-`);
    expect(name).toMatch(/-[0-9a-f]{8}$/);
    // Two long names with the same first 54 characters stay apart.
    expect(agentNameFromNode(long.replace('vmss000000', 'vmss000001'))).not.toBe(name);
    expect(agentNameFromNode(long)).toBe(name);
  });

  it('always gives a valid host name, and keeps one that already is', () => {
    fc.assert(
      fc.property(
        fc.domain().filter((d) => NODE_NAME_RE.test(d)),
        (node) => {
          const name = agentNameFromNode(node);
          expect(name).toMatch(HOST_NAME_RE);
          if (HOST_NAME_RE.test(node)) expect(name).toBe(node);
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,251}[a-z0-9]$/), (node) => {
        expect(agentNameFromNode(node)).toMatch(HOST_NAME_RE);
      }),
      { numRuns: 500 },
    );
  });
});

describe('settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-settings-'));
  const keysFile = join(dir, 'api_keys');
  writeFileSync(keysFile, `fleet ${'a'.repeat(64)} audit:read\n`);
  const keyFile = join(dir, 'fleet.key');
  writeFileSync(keyFile, 'sam_fleet-key-0123456789\n');
  const emptyKey = join(dir, 'empty.key');
  writeFileSync(emptyKey, '\n');
  const base = { PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dir };
  const agentEnv = {
    ...base,
    REDIS_URL: 'redis://127.0.0.1:6379',
    AUTH_API_KEYS_FILE: keysFile,
    AGENT_NAME: 'web1',
    AGENT_URL: 'http://10.0.0.5:3000/mcp',
    ALLOWED_HOSTS: '10.0.0.5',
  };
  const run = (env: Record<string, string>, argv: string[] = []) => {
    const a = loadConfig(argv, env);
    if (a.kind !== 'run') throw new Error('expected run');
    return a.config;
  };

  it('an agent: name, URL, labels and heartbeat', () => {
    const c = run({ ...agentEnv, AGENT_LABELS: 'role=web', AGENT_HEARTBEAT_SECONDS: '2' });
    expect(c.agent).toEqual({
      name: 'web1',
      url: 'http://10.0.0.5:3000/mcp',
      labels: { role: 'web' },
      heartbeatSeconds: 2,
    });
    expect(run(base).agent).toBeUndefined();
  });

  it.each([
    [{ REDIS_URL: '' }, /Invalid AGENT_NAME.*set REDIS_URL/],
    [{ AGENT_URL: '' }, /Invalid AGENT_NAME.*set AGENT_URL/],
    [{ AUTH_API_KEYS_FILE: '' }, /Invalid AGENT_NAME.*AUTH_API_KEYS_FILE/],
    [{ AGENT_NAME: 'Web_1' }, /Invalid AGENT_NAME \(got "Web_1"\)/],
    [{ AGENT_URL: 'http://u:p@10.0.0.5/mcp' }, /Invalid AGENT_URL.*without user info/],
    [{ AGENT_LABELS: 'role' }, /Invalid AGENT_LABELS: "role" is not name=value/],
    [{ AGENT_NAME: '' }, /Invalid AGENT_URL: it needs AGENT_NAME/],
    [{ AGENT_HEARTBEAT_SECONDS: '0' }, /Invalid AGENT_HEARTBEAT_SECONDS/],
    [{ AGENT_URL: 'http://10.0.0.5:3000/mcp?token=abc' }, /Invalid AGENT_URL.*query or fragment/],
    [{ AGENT_URL: 'http://10.0.0.5:3000/mcp#x' }, /Invalid AGENT_URL.*query or fragment/],
    [{ ALLOWED_HOSTS: 'localhost' }, /Invalid AGENT_URL: its host 10\.0\.0\.5 is not in ALLOWED_HOSTS/],
    [
      {
        AGENT_LABELS: Array.from({ length: 32 }, (_, i) => `l${i}=${'v'.repeat(253)}`).join(','),
      },
      /Invalid AGENT_LABELS: the registration would be about \d+ bytes/,
    ],
  ])('refuses agent settings %o', (over, why) => {
    expect(() => run({ ...agentEnv, ...over })).toThrow(why);
  });

  it('never echoes a refused AGENT_URL: it may carry a credential', () => {
    expect(() => run({ ...agentEnv, AGENT_URL: 'http://admin:s3cret@10.0.0.5/mcp' })).toThrow(
      /Invalid AGENT_URL/,
    );
    try {
      run({ ...agentEnv, AGENT_URL: 'http://admin:s3cret@10.0.0.5/mcp' });
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cret');
    }
  });

  it('an agent named from its Kubernetes node (AGENT_NODE_NAME)', () => {
    const { AGENT_NAME: _n, ...rest } = agentEnv;
    void _n;
    const c = run({ ...rest, AGENT_NODE_NAME: 'ip-10-0-1-5.ec2.internal' });
    expect(c.agent?.name).toBe('ip-10-0-1-5-ec2-internal');
    expect(() => run({ ...agentEnv, AGENT_NODE_NAME: 'worker-1' })).toThrow(
      /Invalid AGENT_NODE_NAME: set AGENT_NAME or AGENT_NODE_NAME.*not both/,
    );
    expect(() => run({ ...rest, AGENT_NODE_NAME: 'bad_node' })).toThrow(/Invalid AGENT_NODE_NAME/);
    expect(() => run({ ...rest, AGENT_NODE_NAME: 'worker-1', REDIS_URL: '' })).toThrow(
      /Invalid AGENT_NODE_NAME \(got "worker-1"\).*set REDIS_URL/,
    );
  });

  it('refuses an agent on stdio', () => {
    expect(() => run(agentEnv, ['--stdio'])).toThrow(/cannot register itself with --stdio/);
  });

  it('a serving instance: the fleet agent key from a file or the environment, never enumerable', () => {
    const c = run({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', FLEET_AGENT_KEY_FILE: keyFile });
    expect(c.registeredAgents?.key).toBe('sam_fleet-key-0123456789');
    expect(c.registeredAgents).toMatchObject({ max: 1000, refreshSeconds: 5 });
    expect(JSON.stringify(c)).not.toContain('sam_fleet-key');
    const e = run({
      ...base,
      REDIS_URL: 'redis://127.0.0.1:6379',
      FLEET_AGENT_KEY: 'sam_env-key-0123456789',
      FLEET_AGENTS_MAX: '5',
    });
    expect(e.registeredAgents?.key).toBe('sam_env-key-0123456789');
    expect(e.registeredAgents?.max).toBe(5);
    expect(JSON.stringify(e)).not.toContain('sam_env-key');
    expect(run(base).registeredAgents).toBeUndefined();
  });

  it.each([
    [
      { FLEET_AGENT_KEY_FILE: keyFile },
      /Invalid FLEET_AGENT_KEY_FILE: registered agents are read from Redis/,
    ],
    [
      {
        REDIS_URL: 'redis://127.0.0.1:6379',
        FLEET_AGENT_KEY_FILE: keyFile,
        FLEET_AGENT_KEY: 'sam_0123456789abcdef',
      },
      /not both/,
    ],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379', FLEET_AGENT_KEY_FILE: join(dir, 'missing') },
      /cannot read it \(ENOENT\)/,
    ],
    [{ REDIS_URL: 'redis://127.0.0.1:6379', FLEET_AGENT_KEY_FILE: emptyKey }, /the file is empty/],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379', FLEET_AGENT_KEY: 'short' },
      /^Invalid FLEET_AGENT_KEY: must be at least 16/,
    ],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379', FLEET_AGENT_KEY_FILE: keyFile, FLEET_AGENTS_MAX: '0' },
      /FLEET_AGENTS_MAX/,
    ],
  ])('refuses serving settings %o', (over, why) => {
    expect(() => run({ ...base, ...over })).toThrow(why);
  });
});
