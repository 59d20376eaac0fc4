import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHttp } from '../../src/runtime.js';
import { apiKeysFile, authedClient } from '../helpers/authTestBed.js';
import { connectClient, fixtureHostEnv, startInProcess } from '../helpers/servers.js';

let server: RunningHttp;
let client: Client;
const hostRoot = mkdtempSync(join(tmpdir(), 'prompts-root-'));

beforeAll(async () => {
  mkdirSync(join(hostRoot, 'var/log/nginx'), { recursive: true });
  writeFileSync(join(hostRoot, 'var/log/nginx/access.log'), '');
  writeFileSync(join(hostRoot, 'var/log/nginx/access.log.1'), '');
  writeFileSync(join(hostRoot, 'var/log/nginx/error.log'), '');
  server = await startInProcess({
    ...fixtureHostEnv('debian'),
    HOST_ROOT: hostRoot,
    AUDIT_ALLOWED_PATHS: '/var/log',
  });
  client = await connectClient(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
});

const text = (r: { messages: Array<{ content: { type: string; text?: string } }> }) =>
  r.messages.map((m) => m.content.text ?? '').join('\n');

describe('prompts', () => {
  it('lists the three guided audits with descriptions and arguments', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual([
      'bot_incident_triage',
      'full_server_audit',
      'tls_renewal_check',
    ]);
    for (const p of prompts) expect(p.description, p.name).toBeTruthy();
    const bots = prompts.find((p) => p.name === 'bot_incident_triage');
    expect(bots?.arguments).toEqual([
      expect.objectContaining({ name: 'logPath', required: true }),
      expect.objectContaining({ name: 'window', required: false }),
    ]);
  });

  it('gets full_server_audit without arguments: a plan naming the tools in order', async () => {
    const r = await client.getPrompt({ name: 'full_server_audit' });
    const t = text(r);
    expect(t.indexOf('detect_system')).toBeLessThan(t.indexOf('run_health_check'));
    expect(t.indexOf('run_health_check')).toBeLessThan(t.indexOf('compare_baselines'));
    expect(t).toContain('check_tls');
    expect(t).toContain('{"from": "previous", "to": "latest"');
  });

  it('gets prompts with arguments, and refuses bad ones with -32602', async () => {
    const audit = text(
      await client.getPrompt({ name: 'full_server_audit', arguments: { focus: 'hardware' } }),
    );
    expect(audit).toContain('{"checks": ["hardware"]}');
    const before = Date.now();
    const bots = text(
      await client.getPrompt({
        name: 'bot_incident_triage',
        arguments: { logPath: '/var/log/nginx/access.log', window: '1h' },
      }),
    );
    const since = Date.parse(/"since": "([^"]+)"/.exec(bots)?.[1] ?? '');
    expect(Math.abs(before - 3_600_000 - since)).toBeLessThan(5000);
    const tls = text(
      await client.getPrompt({
        name: 'tls_renewal_check',
        arguments: { targets: 'a.example, b.example:8443', warnDays: '14' },
      }),
    );
    expect(tls).toContain('{"targets": ["a.example","b.example:8443"], "warnDays": 14}');
    await expect(
      client.getPrompt({ name: 'full_server_audit', arguments: { focus: 'kernel' } }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/focus must be/) });
    await expect(client.getPrompt({ name: 'bot_incident_triage', arguments: {} })).rejects.toMatchObject({
      code: -32602,
    });
    await expect(
      client.getPrompt({ name: 'tls_renewal_check', arguments: { targets: 'x', warnDays: 'soon' } }),
    ).rejects.toThrow(/warnDays/);
  });

  it('completes arguments with known values: check groups, baseline ids, access logs, windows', async () => {
    const complete = async (name: string, argument: string, value: string) =>
      (await client.complete({ ref: { type: 'ref/prompt', name }, argument: { name: argument, value } }))
        .completion.values;
    expect(await complete('full_server_audit', 'focus', 're')).toEqual(['resources']);
    expect(await complete('full_server_audit', 'focus', '')).toContain('all');
    const saved = await client.callTool({
      name: 'run_health_check',
      arguments: { checks: ['resources'], cpuSampleMs: 0 },
    });
    const id = (saved.structuredContent as { baselineId: string }).baselineId;
    expect(await complete('full_server_audit', 'compareWith', id.slice(0, 5))).toContain(id);
    expect(await complete('bot_incident_triage', 'logPath', '/var/log/n')).toEqual([
      '/var/log/nginx/access.log',
      '/var/log/nginx/access.log.1',
    ]);
    expect(await complete('bot_incident_triage', 'window', '1')).toEqual(['15m', '1h']);
    expect(await complete('tls_renewal_check', 'warnDays', '')).toEqual(['7', '14', '30', '60', '90']);
    // Not our prompt: no suggestions, not an error.
    expect(await complete('test_prompt_with_arguments', 'arg1', 'test')).toEqual([]);
  });

  it('shows a principal only the prompts its scopes cover', async () => {
    const keys = apiKeysFile({ net: ['audit:network'] });
    const s = await startInProcess({ ...fixtureHostEnv('debian'), AUTH_API_KEYS_FILE: keys.path });
    try {
      const c = await authedClient(s.url, keys.keys.net as string);
      expect((await c.listPrompts()).prompts.map((p) => p.name)).toEqual(['tls_renewal_check']);
      await expect(
        c.getPrompt({ name: 'bot_incident_triage', arguments: { logPath: '/var/log/x' } }),
      ).rejects.toThrow(/needs the audit:logs scope/);
      const none = await c.complete({
        ref: { type: 'ref/prompt', name: 'full_server_audit' },
        argument: { name: 'compareWith', value: '' },
      });
      expect(none.completion.values).toEqual([]);
      await c.close();
    } finally {
      await s.shutdown('test done');
    }
  });
});

describe('prompts under TOOLSETS', () => {
  it('offers only prompts whose tools are offered, and plans name no hidden tool', async () => {
    const narrow = await startInProcess({ ...fixtureHostEnv('debian'), TOOLSETS: 'health,logs' });
    const c = await connectClient(narrow.url);
    try {
      const { prompts } = await c.listPrompts();
      expect(prompts.map((p) => p.name).sort()).toEqual(['bot_incident_triage', 'full_server_audit']);
      const plan = text(await c.getPrompt({ name: 'full_server_audit' }));
      expect(plan).toContain('compare_baselines');
      expect(plan).not.toContain('check_tls');
      expect(plan).toMatch(/\n4\. Summarise/);
      const instructions = c.getInstructions() ?? '';
      expect(instructions).toContain('bot_incident_triage');
      expect(instructions).not.toContain('tls_renewal_check');
      await expect(
        c.getPrompt({ name: 'tls_renewal_check', arguments: { targets: '127.0.0.1' } }),
      ).rejects.toThrow();
    } finally {
      await c.close();
      await narrow.shutdown('test done');
    }
    const network = await startInProcess({ ...fixtureHostEnv('debian'), TOOLSETS: 'network' });
    const n = await connectClient(network.url);
    try {
      expect((await n.listPrompts()).prompts.map((p) => p.name)).toEqual(['tls_renewal_check']);
      expect(n.getInstructions()).not.toContain('detect_system');
    } finally {
      await n.close();
      await network.shutdown('test done');
    }
  });
});
