/**
 * Task records: what any instance needs to answer tasks/get, tasks/update and tasks/cancel for a
 * task that may run on another instance. The memory store serves one process; the Redis store
 * (fleet/redisTaskStore.ts) the fleet. Both keep the same rules:
 * - a record is found only under its owner (another principal's lookup finds nothing);
 * - an active task (working, input_required) whose runner stopped renewing its lease reads
 *   `failed`: the instance running it is gone;
 * - terminal states never change again;
 * - an owner has at most `maxRunning` active tasks (slots free themselves when a lease runs out);
 * - records expire at `expiresAt`, results with them.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export function isActive(status: TaskStatus): boolean {
  return status === 'working' || status === 'input_required';
}

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface TaskRecord {
  /** 128 random bits, hex. */
  id: string;
  /** The principal that started it; the only one that may see or cancel it. */
  owner: string;
  tool: string;
  status: TaskStatus;
  statusMessage?: string;
  /** Epoch milliseconds. */
  createdAt: number;
  lastUpdatedAt: number;
  /** When the record and its result are dropped. */
  expiresAt: number;
  pollIntervalMs: number;
  /** The instance running it, and until when its last heartbeat vouches for it. */
  runner: string;
  leaseUntil: number;
  /** Outstanding requests to the client (input_required), by key. */
  inputRequests?: Record<string, unknown>;
  /** The JSON-RPC error of a failed task. */
  error?: RpcError;
}

export interface TaskEnd {
  status: 'completed' | 'failed' | 'cancelled';
  statusMessage?: string;
  /** The tool result (completed). */
  result?: unknown;
  error?: RpcError;
  /** The record (and result) are kept at least until then. */
  keepUntil: number;
}

export interface TaskStore {
  /** Stores a new active task and takes one of its owner's slots; false when all are taken. */
  create(record: TaskRecord, maxRunning: number): Promise<boolean>;
  /** The owner's task; an active one whose lease ran out is failed first (`lostMessage`). */
  get(owner: string, id: string, lostMessage: string): Promise<TaskRecord | undefined>;
  /** The result of a completed task. */
  result(owner: string, id: string): Promise<unknown>;
  /** Progress or input requests of an active task; false once it is no longer active. */
  update(
    owner: string,
    id: string,
    patch: Pick<TaskRecord, 'status'> & Partial<Pick<TaskRecord, 'statusMessage' | 'inputRequests'>>,
  ): Promise<boolean>;
  /** Settles an active task; false when it was already terminal (cancelled, or lost). */
  finish(owner: string, id: string, end: TaskEnd): Promise<boolean>;
  /** The runner's heartbeat; false when the task is no longer active (cancelled, lost, gone). */
  renew(owner: string, id: string, leaseUntil: number): Promise<boolean>;
  /**
   * Cancels an active task at once (its runner stops when it hears of it). `not-found` for an
   * unknown (or foreign) id; `terminal` when it had settled already.
   */
  cancel(owner: string, id: string, message: string): Promise<'cancelled' | 'terminal' | 'not-found'>;
  /**
   * Responses to outstanding input requests (unknown keys ignored). Answered keys leave
   * `inputRequests`; when none is left the task is `working` again. `not-found` as for cancel.
   */
  addInput(owner: string, id: string, responses: Record<string, unknown>): Promise<'ok' | 'not-found'>;
  /** Takes (and forgets) the responses stored so far. */
  takeInput(owner: string, id: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Results larger than this are kept gzip-compressed (tool results are JSON: ~10x smaller). */
export const COMPRESS_OVER_BYTES = 16 * 1024;

/** A result as stored: JSON, gzipped when large (first byte 0x1f never starts JSON text). */
export function encodeResult(result: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(result ?? null), 'utf8');
  return json.length > COMPRESS_OVER_BYTES ? gzipSync(json) : json;
}

export function decodeResult(stored: Buffer): unknown {
  const json = stored[0] === 0x1f ? gunzipSync(stored) : stored;
  return JSON.parse(json.toString('utf8'));
}

/** In one process: the same rules as the Redis store, for a single instance or stdio. */
export class MemoryTaskStore implements TaskStore {
  private readonly records = new Map<string, TaskRecord>();
  private readonly results = new Map<string, Buffer>();
  private readonly inputs = new Map<string, Record<string, unknown>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private key(owner: string, id: string): string {
    return `${owner}\u0000${id}`;
  }

  /** The live record (expired ones are dropped on sight). */
  private live(owner: string, id: string): TaskRecord | undefined {
    const k = this.key(owner, id);
    const r = this.records.get(k);
    if (r && r.expiresAt <= this.now()) {
      this.drop(k);
      return undefined;
    }
    return r;
  }

  private drop(k: string): void {
    this.records.delete(k);
    this.results.delete(k);
    this.inputs.delete(k);
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, r] of this.records) if (r.expiresAt <= now) this.drop(k);
  }

  async create(record: TaskRecord, maxRunning: number): Promise<boolean> {
    const now = this.now();
    let running = 0;
    for (const r of this.records.values())
      if (r.owner === record.owner && isActive(r.status) && r.leaseUntil > now) running++;
    if (running >= maxRunning) return false;
    this.records.set(this.key(record.owner, record.id), { ...record });
    return true;
  }

  async get(owner: string, id: string, lostMessage: string): Promise<TaskRecord | undefined> {
    const r = this.live(owner, id);
    if (!r) return undefined;
    const now = this.now();
    if (isActive(r.status) && r.leaseUntil < now) {
      Object.assign(r, lost(lostMessage, now));
      delete r.inputRequests;
    }
    return structuredClone(r);
  }

  async result(owner: string, id: string): Promise<unknown> {
    if (!this.live(owner, id)) return undefined;
    const stored = this.results.get(this.key(owner, id));
    return stored ? decodeResult(stored) : undefined;
  }

  async update(
    owner: string,
    id: string,
    patch: Pick<TaskRecord, 'status'> & Partial<Pick<TaskRecord, 'statusMessage' | 'inputRequests'>>,
  ): Promise<boolean> {
    const r = this.live(owner, id);
    if (!r || !isActive(r.status)) return false;
    Object.assign(r, structuredClone(patch), { lastUpdatedAt: this.now() });
    if (patch.status === 'working') delete r.inputRequests;
    return true;
  }

  async finish(owner: string, id: string, end: TaskEnd): Promise<boolean> {
    const r = this.live(owner, id);
    if (!r || !isActive(r.status)) return false;
    const k = this.key(owner, id);
    r.status = end.status;
    r.lastUpdatedAt = this.now();
    if (end.statusMessage !== undefined) r.statusMessage = end.statusMessage;
    else delete r.statusMessage;
    if (end.error) r.error = end.error;
    delete r.inputRequests;
    r.expiresAt = Math.max(r.expiresAt, end.keepUntil);
    if (end.result !== undefined) this.results.set(k, encodeResult(end.result));
    this.inputs.delete(k);
    return true;
  }

  async renew(owner: string, id: string, leaseUntil: number): Promise<boolean> {
    const r = this.live(owner, id);
    if (!r || !isActive(r.status)) return false;
    r.leaseUntil = leaseUntil;
    // A running task never expires under its runner.
    r.expiresAt = Math.max(r.expiresAt, leaseUntil);
    return true;
  }

  async cancel(owner: string, id: string, message: string): Promise<'cancelled' | 'terminal' | 'not-found'> {
    const r = this.live(owner, id);
    if (!r) return 'not-found';
    if (!isActive(r.status)) return 'terminal';
    r.status = 'cancelled';
    r.statusMessage = message;
    r.lastUpdatedAt = this.now();
    delete r.inputRequests;
    return 'cancelled';
  }

  async addInput(owner: string, id: string, responses: Record<string, unknown>): Promise<'ok' | 'not-found'> {
    const r = this.live(owner, id);
    if (!r) return 'not-found';
    if (r.status !== 'input_required' || !r.inputRequests) return 'ok';
    const k = this.key(owner, id);
    const stored = this.inputs.get(k) ?? {};
    for (const [key, value] of Object.entries(responses)) {
      if (!Object.hasOwn(r.inputRequests, key)) continue;
      stored[key] = structuredClone(value);
      delete r.inputRequests[key];
    }
    this.inputs.set(k, stored);
    if (Object.keys(r.inputRequests).length === 0) {
      r.status = 'working';
      delete r.inputRequests;
    }
    r.lastUpdatedAt = this.now();
    return 'ok';
  }

  async takeInput(owner: string, id: string): Promise<Record<string, unknown>> {
    const k = this.key(owner, id);
    const stored = this.inputs.get(k) ?? {};
    this.inputs.delete(k);
    return stored;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/** The fields of a task whose runner is gone. */
export function lost(message: string, now: number): Partial<TaskRecord> {
  return {
    status: 'failed',
    statusMessage: message,
    lastUpdatedAt: now,
    error: { code: -32603, message },
  };
}
