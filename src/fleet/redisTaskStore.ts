import { createHash } from 'node:crypto';
import {
  decodeResult,
  encodeResult,
  lost,
  type TaskEnd,
  type TaskRecord,
  type TaskStatus,
  type TaskStore,
} from '../tasks/taskStore.js';
import type { RedisClient } from './redisClient.js';

/**
 * Task records in Redis, for the fleet: any instance answers tasks/get and tasks/cancel for a
 * task another instance runs. Per task, all under one hash tag (one Cluster slot, so each state
 * change is one atomic Lua script):
 *   task:{o}:<id>           hash: the record's scalar fields (JSON for error)
 *   task:{o}:<id>:requests  hash: outstanding input requests, key -> JSON
 *   task:{o}:<id>:input     hash: the client's responses not yet taken by the runner
 *   task:{o}:<id>:result    the result, JSON or gzip (encodeResult)
 *   tasks:{o}:running       zset: the owner's active tasks, scored by lease end (the slot cap)
 * `o` is a digest of the owner, so a lookup by another principal finds nothing, exactly like an
 * unknown id. Keys expire at the record's expiresAt (PEXPIREAT), so nothing needs a sweeper.
 */
export class RedisTaskStore implements TaskStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private keys(owner: string, id: string) {
    const tag = createHash('sha256').update(owner).digest('hex').slice(0, 16);
    const rec = `${this.prefix}task:{${tag}}:${id}`;
    return {
      rec,
      requests: `${rec}:requests`,
      input: `${rec}:input`,
      result: `${rec}:result`,
      running: `${this.prefix}tasks:{${tag}}:running`,
    };
  }

  private eval(script: string, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
    return this.redis.eval(script, keys.length, ...keys, ...args);
  }

  async create(record: TaskRecord, maxRunning: number): Promise<boolean> {
    const k = this.keys(record.owner, record.id);
    const fields: Array<string | number> = [];
    for (const [f, v] of Object.entries(record)) {
      if (v === undefined || f === 'inputRequests' || f === 'error') continue;
      fields.push(f, String(v));
    }
    const ok = await this.eval(
      CREATE,
      [k.rec, k.running],
      [Date.now(), maxRunning, record.id, record.leaseUntil, record.expiresAt, ...fields],
    );
    return ok === 1;
  }

  async get(owner: string, id: string, lostMessage: string): Promise<TaskRecord | undefined> {
    const k = this.keys(owner, id);
    const now = Date.now();
    const failed = lost(lostMessage, now);
    const reply = (await this.eval(
      GET,
      [k.rec, k.running, k.requests],
      [now, lostMessage, JSON.stringify(failed.error), id],
    )) as [string[], string[]] | null;
    if (!reply || reply[0].length === 0) return undefined;
    const h = pairs(reply[0]);
    const record: TaskRecord = {
      id: h.id ?? id,
      owner: h.owner ?? owner,
      tool: h.tool ?? '',
      status: (h.status ?? 'failed') as TaskStatus,
      createdAt: Number(h.createdAt),
      lastUpdatedAt: Number(h.lastUpdatedAt),
      expiresAt: Number(h.expiresAt),
      pollIntervalMs: Number(h.pollIntervalMs),
      runner: h.runner ?? '',
      leaseUntil: Number(h.leaseUntil),
      ...(h.statusMessage !== undefined ? { statusMessage: h.statusMessage } : {}),
      ...(h.error !== undefined ? { error: JSON.parse(h.error) as TaskRecord['error'] } : {}),
    };
    if (record.status === 'input_required' && reply[1].length > 0) {
      const requests: Record<string, unknown> = {};
      for (const [key, json] of Object.entries(pairs(reply[1]))) requests[key] = JSON.parse(json);
      record.inputRequests = requests;
    }
    return record;
  }

  async result(owner: string, id: string): Promise<unknown> {
    const stored = await this.redis.getBuffer(this.keys(owner, id).result);
    return stored ? decodeResult(stored) : undefined;
  }

  async update(
    owner: string,
    id: string,
    patch: Pick<TaskRecord, 'status'> & Partial<Pick<TaskRecord, 'statusMessage' | 'inputRequests'>>,
  ): Promise<boolean> {
    const k = this.keys(owner, id);
    const requests = Object.entries(patch.inputRequests ?? {}).flatMap(([key, v]) => [
      key,
      JSON.stringify(v),
    ]);
    const ok = await this.eval(
      UPDATE,
      [k.rec, k.requests],
      [
        Date.now(),
        patch.status,
        patch.statusMessage !== undefined ? '1' : '0',
        patch.statusMessage ?? '',
        patch.inputRequests !== undefined ? '1' : '0',
        ...requests,
      ],
    );
    return ok === 1;
  }

  async finish(owner: string, id: string, end: TaskEnd): Promise<boolean> {
    const k = this.keys(owner, id);
    const ok = await this.eval(
      FINISH,
      [k.rec, k.running, k.result, k.input, k.requests],
      [
        Date.now(),
        id,
        end.status,
        end.statusMessage !== undefined ? '1' : '0',
        end.statusMessage ?? '',
        end.error ? JSON.stringify(end.error) : '',
        end.keepUntil,
        end.result !== undefined ? '1' : '0',
        end.result !== undefined ? encodeResult(end.result) : '',
      ],
    );
    return ok === 1;
  }

  async renew(owner: string, id: string, leaseUntil: number): Promise<boolean> {
    const k = this.keys(owner, id);
    return (await this.eval(RENEW, [k.rec, k.running], [leaseUntil, id])) === 1;
  }

  async cancel(owner: string, id: string, message: string): Promise<'cancelled' | 'terminal' | 'not-found'> {
    const k = this.keys(owner, id);
    return (await this.eval(CANCEL, [k.rec, k.running, k.input, k.requests], [Date.now(), message, id])) as
      'cancelled' | 'terminal' | 'not-found';
  }

  async addInput(owner: string, id: string, responses: Record<string, unknown>): Promise<'ok' | 'not-found'> {
    const k = this.keys(owner, id);
    const args = Object.entries(responses).flatMap(([key, v]) => [key, JSON.stringify(v)]);
    const found = await this.eval(ADD_INPUT, [k.rec, k.requests, k.input], [Date.now(), ...args]);
    return found === 1 ? 'ok' : 'not-found';
  }

  async takeInput(owner: string, id: string): Promise<Record<string, unknown>> {
    const k = this.keys(owner, id);
    const flat = (await this.eval(TAKE_INPUT, [k.input], [])) as string[];
    const out: Record<string, unknown> = {};
    for (const [key, json] of Object.entries(pairs(flat))) out[key] = JSON.parse(json);
    return out;
  }

  async close(): Promise<void> {
    // The connection belongs to the fleet wiring, which closes it.
  }
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

/** Defined once so the scripts agree with isActive(). */
const ACTIVE_LUA = `local function active(s) return s == 'working' or s == 'input_required' end`;
/** The running set lives a day past its last write; its members' scores expire on their own. */
const RUNNING_TTL_MS = 86_400_000;

// KEYS rec, running; ARGV now, max, id, leaseUntil, expiresAt, field, value, ...
const CREATE = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ${RUNNING_TTL_MS})
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1`;

// KEYS rec, running, requests; ARGV now, lostMessage, errorJson, id
const GET = `${ACTIVE_LUA}
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return nil end
if active(s) and tonumber(redis.call('HGET', KEYS[1], 'leaseUntil')) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'statusMessage', ARGV[2], 'lastUpdatedAt', ARGV[1], 'error', ARGV[3])
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[2], ARGV[4])
end
return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[3]) }`;

// KEYS rec, requests; ARGV now, status, hasMessage, message, hasRequests, key, json, ...
const UPDATE = `${ACTIVE_LUA}
if not active(redis.call('HGET', KEYS[1], 'status')) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'lastUpdatedAt', ARGV[1])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'statusMessage', ARGV[4]) end
if ARGV[5] == '1' or ARGV[2] == 'working' then redis.call('DEL', KEYS[2]) end
if ARGV[5] == '1' and #ARGV > 5 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 6))
  redis.call('PEXPIREAT', KEYS[2], redis.call('HGET', KEYS[1], 'expiresAt'))
end
return 1`;

// KEYS rec, running, result, input, requests;
// ARGV now, id, status, hasMessage, message, errorJson, keepUntil, hasResult, result
const FINISH = `${ACTIVE_LUA}
if not active(redis.call('HGET', KEYS[1], 'status')) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'lastUpdatedAt', ARGV[1])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'statusMessage', ARGV[5]) else redis.call('HDEL', KEYS[1], 'statusMessage') end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[6]) end
local exp = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
if tonumber(ARGV[7]) > exp then
  exp = tonumber(ARGV[7])
  redis.call('HSET', KEYS[1], 'expiresAt', ARGV[7])
end
redis.call('PEXPIREAT', KEYS[1], exp)
if ARGV[8] == '1' then
  redis.call('SET', KEYS[3], ARGV[9])
  redis.call('PEXPIREAT', KEYS[3], exp)
end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[4], KEYS[5])
return 1`;

// KEYS rec, running; ARGV leaseUntil, id
const RENEW = `${ACTIVE_LUA}
if not active(redis.call('HGET', KEYS[1], 'status')) then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
redis.call('HSET', KEYS[1], 'leaseUntil', ARGV[1])
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then
  redis.call('HSET', KEYS[1], 'expiresAt', ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ${RUNNING_TTL_MS})
return 1`;

// KEYS rec, running, input, requests; ARGV now, message, id
const CANCEL = `${ACTIVE_LUA}
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'not-found' end
if not active(s) then return 'terminal' end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'statusMessage', ARGV[2], 'lastUpdatedAt', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3], KEYS[4])
return 'cancelled'`;

// KEYS rec, requests, input; ARGV now, key, json, ...
const ADD_INPUT = `
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 0 end
if s ~= 'input_required' then return 1 end
for i = 2, #ARGV, 2 do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIREAT', KEYS[3], redis.call('HGET', KEYS[1], 'expiresAt'))
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('HSET', KEYS[1], 'status', 'working') end
redis.call('HSET', KEYS[1], 'lastUpdatedAt', ARGV[1])
return 1`;

// KEYS input
const TAKE_INPUT = `
local v = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return v`;
