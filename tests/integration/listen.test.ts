/**
 * subscriptions/listen (2026-07-28): a client that listens for resource-list changes hears when a
 * baseline is saved or deleted, by any client, on any instance (fleet mode carries the event
 * over Redis).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisPeer, requirePeer, startRedis } from '../helpers/peers.js';
import { fixtureHostEnv, type SpawnedServer, spawnServer } from '../helpers/servers.js';

const modern = async (url: string, name: string) => {
  const client = new Client({ name, version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
};

/** Resolves on the next resources/list_changed the client hears (rejects after a generous bound). */
function nextListChanged(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no notifications/resources/list_changed')), 30_000);
    client.setNotificationHandler('notifications/resources/list_changed', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function listenAndSave(listenUrl: string, saveUrl: string) {
  const listener = await modern(listenUrl, 'listener');
  const heard = nextListChanged(listener);
  const sub = await listener.listen({ resourcesListChanged: true });
  expect(sub.honoredFilter).toMatchObject({ resourcesListChanged: true });
  const saver = await modern(saveUrl, 'saver');
  const res = await saver.callTool({ name: 'run_health_check', arguments: {} });
  expect(res.isError).toBeFalsy();
  await heard;
  // And again for a delete, which only an admin-scoped principal may do (anonymous has all).
  const id = (res.structuredContent as { baselineId: string | null }).baselineId;
  expect(id).toEqual(expect.any(String));
  const again = nextListChanged(listener);
  await saver.callTool({ name: 'delete_baselines', arguments: { ids: [id] } });
  await again;
  await sub.close();
  await listener.close();
  await saver.close();
}

describe('subscriptions/listen on one instance', () => {
  let server: SpawnedServer;
  beforeAll(async () => {
    server = await spawnServer(fixtureHostEnv('debian'));
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exit;
  });

  it('announces a saved and a deleted baseline on the listen stream', async () => {
    await listenAndSave(server.url, server.url);
  });
});

const haveRedis = requirePeer('redis-server', 'redis-server');

describe.runIf(haveRedis)('subscriptions/listen across two Redis-backed instances', () => {
  let redis: RedisPeer;
  const servers: SpawnedServer[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    const env = { ...fixtureHostEnv('debian'), REDIS_URL: redis.url, REDIS_PREFIX: `l${Date.now()}:` };
    servers.push(await spawnServer(env), await spawnServer(env));
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exit));
    await redis?.stop();
  });

  it('hears on instance A a baseline saved through instance B', async () => {
    await listenAndSave(servers[0]!.url, servers[1]!.url);
  });
});
