/**
 * Fleet faults through the shipped HAProxy config (deploy/haproxy/haproxy.cfg) with two real
 * instances and a real redis-server, counts printed:
 * - SIGKILL of one instance under a load of 2026-07-28 read-only calls: the balancer replays the
 *   calls that died with it on the other instance, so none fails;
 * - Redis stopped for a while: instances stay ready (degraded), modern requests and calls on the
 *   sessions they hold keep working; only what needs Redis (a new session) gets a clear 503;
 * - Redis frozen (SIGSTOP): the same.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisPeer, requirePeer, startRedis, startShippedHaproxy } from '../helpers/peers.js';
import {
  fixtureHostEnv,
  initializeBody,
  MCP_HEADERS,
  type SpawnedServer,
  spawnServer,
} from '../helpers/servers.js';

const haveRedis = requirePeer('redis-server', 'redis-server');
const haveHaproxy = requirePeer('haproxy', 'haproxy');
const MODERN = '2026-07-28';

const modernCall = (url: string, name: string, args: Record<string, unknown>) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': name,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name,
        arguments: args,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'load', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
    signal: AbortSignal.timeout(60_000),
  }).then(async (res) => {
    const text = await res.text();
    if (res.status !== 200) return false;
    const line = text.split('\n').find((l) => l.startsWith('data:'));
    const msg = JSON.parse(line ? line.slice(5) : text) as { result?: { isError?: boolean } };
    return msg.result !== undefined && msg.result.isError !== true;
  });

/** Runs `workers` loops of read-only modern calls until `stop` resolves; counts outcomes. */
async function load(url: string, workers: number, stop: Promise<void>) {
  let ok = 0;
  let failed = 0;
  let done = false;
  void stop.then(() => (done = true));
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (!done) {
        // detect_system re-read every time (maxAgeSeconds 0) keeps each call busy for a while.
        const good = await modernCall(url, 'detect_system', { maxAgeSeconds: w % 2 ? 0 : 3600 }).catch(
          () => false,
        );
        if (good) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed };
}

describe.runIf(haveRedis && haveHaproxy)('fleet faults through the shipped HAProxy config', () => {
  let redis: RedisPeer | undefined;
  const servers: SpawnedServer[] = [];
  let lb: { port: number; stop(): Promise<void> } | undefined;

  async function fleet() {
    redis = await startRedis();
    const env = {
      ...fixtureHostEnv('debian'),
      REDIS_URL: redis.url,
      REDIS_PREFIX: `loss${Date.now()}:`,
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_BURST: '0',
    };
    servers.push(await spawnServer(env), await spawnServer(env));
    lb = await startShippedHaproxy(servers.map((s) => Number(new URL(s.url).port)));
    return `http://127.0.0.1:${lb.port}/mcp`;
  }

  afterEach(async () => {
    await lb?.stop();
    for (const s of servers.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('loses no read-only call when an instance is SIGKILLed under load', async () => {
    const url = await fleet();
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const running = load(url, 8, stop);
    await new Promise((r) => setTimeout(r, 2000));
    servers[0]!.child.kill('SIGKILL');
    await servers[0]!.exit;
    await new Promise((r) => setTimeout(r, 3000));
    release();
    const { ok, failed } = await running;
    console.log(`instance SIGKILL under load: ${ok} calls ok, ${failed} failed`);
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBe(0);
  }, 120_000);

  for (const fault of ['stop', 'freeze'] as const)
    it(`serves modern requests and held sessions with Redis ${fault === 'stop' ? 'stopped' : 'frozen (SIGSTOP)'}`, async () => {
      const url = await fleet();
      // A 2025 session used through the balancer, so both instances hold it.
      const client = new Client({ name: 'held', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      for (let i = 0; i < 4; i++)
        await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 3600 } });
      let release!: () => void;
      const stop = new Promise<void>((r) => (release = r));
      const running = load(url, 4, stop);
      let sessionOk = 0;
      let sessionFailed = 0;
      if (fault === 'stop') await redis!.stop();
      else redis!.signal('SIGSTOP');
      try {
        const until = Date.now() + 5000;
        while (Date.now() < until) {
          const r = await client
            .callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 3600 } })
            .catch(() => undefined);
          if (r && !r.isError) sessionOk++;
          else sessionFailed++;
        }
        // /ready stays 200 (degraded) on both instances: the balancer keeps them.
        for (const s of servers) expect((await fetch(s.url.replace('/mcp', '/ready'))).status).toBe(200);
        // A new session needs Redis: a clear 503.
        if (fault === 'stop') {
          const fresh = await fetch(url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody() });
          expect(fresh.status).toBe(503);
          expect(fresh.headers.get('retry-after')).toBeTruthy();
        }
      } finally {
        if (fault === 'stop') await redis!.start();
        else redis!.signal('SIGCONT');
      }
      release();
      const modern = await running;
      console.log(
        `Redis ${fault}: modern ${modern.ok} ok / ${modern.failed} failed; held session ${sessionOk} ok / ${sessionFailed} failed`,
      );
      expect(modern.failed).toBe(0);
      expect(sessionFailed).toBe(0);
      expect(modern.ok).toBeGreaterThan(0);
      await client.close();
    }, 120_000);
});
