/**
 * Long tool calls as tasks (the tasks extension, SEP-2663; and the task-augmented calls of
 * 2025-11-25): start, run, renew, settle, cancel, feed input. Records live in the TaskStore (Redis
 * in fleet mode), so any instance answers for any task; the work runs on the instance that
 * accepted the call, which renews a lease on each task every TASK_HEARTBEAT_SECONDS. A task
 * whose lease runs out (its instance died) reads `failed` wherever it is next read. Cancels and
 * input reach the running instance over the fleet cancel channel, and through the store at the
 * next heartbeat should a message be lost.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { digestArgs } from '../observability/argDigest.js';
import type { AuditLog, AuditRecord } from '../observability/auditLog.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { CANCEL_CHANNEL, type SessionBus } from '../session/sessionBus.js';
import type { Executor, InvocationOutcome, ToolInvocation } from './executor.js';
import { isActive, type RpcError, type TaskRecord, type TaskStore } from './taskStore.js';

/** How a tool takes part: `required` tools cannot run without a task. */
export interface TaskSupport {
  mode: 'optional' | 'required';
  /**
   * The tool gathers input (SEP-2322 rounds) before its long work: a first answer that asks for
   * input, or comes quickly, is returned as is; the task is created once the work takes longer.
   */
  inputFirst?: boolean;
}

export type TaskConfig = Pick<
  Config,
  | 'TASK_DEADLINE_SECONDS'
  | 'TASK_TTL_SECONDS'
  | 'MAX_TASKS_PER_PRINCIPAL'
  | 'MAX_TASKS_RUNNING'
  | 'TASK_HEARTBEAT_SECONDS'
>;

export interface TaskServiceOptions {
  store: TaskStore;
  bus: SessionBus;
  execute: Executor;
  support: ReadonlyMap<string, TaskSupport>;
  config: TaskConfig;
  logger: Logger;
  metrics?: Metrics;
  audit?: AuditLog;
}

export type BeginOutcome =
  | { kind: 'task'; record: TaskRecord }
  | { kind: 'refused'; message: string }
  /** An inputFirst tool answered within the window: its answer, as a plain call's. */
  | { kind: 'immediate'; outcome: InvocationOutcome };

export interface TaskView {
  record: TaskRecord;
  /** The tool result, once completed. */
  result?: Record<string, unknown>;
}

interface Running {
  record: TaskRecord;
  call: ToolInvocation;
  abort: AbortController;
  /** Why it was aborted: the client, the deadline, this instance shutting down, or its lease lost. */
  reason?: 'cancel' | 'deadline' | 'shutdown' | 'lost';
  /** Wakes a task waiting for input. */
  wake?: () => void;
  started: number;
  timer: NodeJS.Timeout;
}

/** How long an inputFirst tool may take to ask for input (or answer) before it becomes a task. */
export const INPUT_FIRST_WINDOW_MS = 300;
/** Suggested polling interval for clients. */
const POLL_INTERVAL_MS = 2000;
/** After the deadline, a tool that ignores it gets this long before the task is failed. */
const DEADLINE_GRACE_MS = 30_000;
/** Progress is written to the store at most this often. */
const PROGRESS_EVERY_MS = 1000;
/** A finished task stays readable at least this long (or its TTL, if shorter), whatever was left of its TTL. */
const MIN_KEEP_MS = 60_000;

export class TaskService {
  /** This process among the fleet's runners. */
  readonly instance = randomBytes(8).toString('hex');
  private readonly running = new Map<string, Running>();
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: TaskServiceOptions) {
    o.metrics?.tasksRunning.set(0);
  }

  /** How long a lease lasts: three heartbeats, so one late renewal does not fail a task. */
  get leaseMs(): number {
    return this.o.config.TASK_HEARTBEAT_SECONDS * 3000;
  }

  private get lostMessage(): string {
    return `The server instance running this task stopped (no heartbeat for ${this.leaseMs / 1000} s); start the call again.`;
  }

  supportOf(tool: string): TaskSupport | undefined {
    return this.o.support.get(tool);
  }

  /** Starts renewing leases and listening for cancels and input from other instances. */
  async start(): Promise<void> {
    this.heartbeat ??= setInterval(() => void this.renewAll(), this.o.config.TASK_HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
    try {
      this.unsubscribe = await this.o.bus.subscribe(CANCEL_CHANNEL, (m) => {
        if (m.kind !== 'task') return;
        const r = this.running.get(m.taskId);
        if (!r || r.record.owner !== m.owner) return;
        if (m.action === 'cancel') this.stop(r, 'cancel');
        else r.wake?.();
      });
    } catch (err) {
      // Without the channel, cancels and input still arrive at the next heartbeat (via the store).
      this.o.logger.warn({ err }, 'cannot listen for task cancels yet; retrying');
      this.retry = setTimeout(() => void this.start(), 5000);
      this.retry.unref();
    }
  }

  /**
   * Accepts a call as a task: refused over the per-instance or per-principal cap; an inputFirst
   * tool may answer at once instead. The record exists (durably) before this resolves.
   */
  async begin(call: ToolInvocation): Promise<BeginOutcome> {
    const cfg = this.o.config;
    if (this.closed)
      return { kind: 'refused', message: 'This server instance is shutting down; retry the call.' };
    if (this.running.size >= cfg.MAX_TASKS_RUNNING)
      return {
        kind: 'refused',
        message: `This server instance already runs ${this.running.size} tasks (MAX_TASKS_RUNNING=${cfg.MAX_TASKS_RUNNING}); retry later, or run the call without a task.`,
      };
    const now = Date.now();
    const record: TaskRecord = {
      id: randomBytes(16).toString('hex'),
      owner: call.principal.id,
      tool: call.tool,
      status: 'working',
      statusMessage: 'Started',
      createdAt: now,
      lastUpdatedAt: now,
      expiresAt: now + cfg.TASK_TTL_SECONDS * 1000,
      pollIntervalMs: POLL_INTERVAL_MS,
      runner: this.instance,
      leaseUntil: now + this.leaseMs,
    };
    const r: Running = {
      record,
      call,
      abort: new AbortController(),
      started: performance.now(),
      timer: setTimeout(() => this.stop(r, 'deadline'), cfg.TASK_DEADLINE_SECONDS * 1000 + DEADLINE_GRACE_MS),
    };
    r.timer.unref();
    this.running.set(record.id, r);
    let first: Promise<InvocationOutcome> | undefined;
    if (this.o.support.get(call.tool)?.inputFirst) {
      first = this.invoke(r, call);
      // Observed later by run(), or never (refused below): never an unhandled rejection.
      first.catch(() => undefined);
      const early = await Promise.race([
        first.then(
          (outcome) => outcome,
          () => undefined,
        ),
        new Promise<'later'>((resolve) => setTimeout(() => resolve('later'), INPUT_FIRST_WINDOW_MS).unref()),
      ]);
      if (early !== 'later' && early !== undefined) {
        this.forget(r);
        return { kind: 'immediate', outcome: early };
      }
    }
    let created = false;
    try {
      created = await this.o.store.create(record, cfg.MAX_TASKS_PER_PRINCIPAL);
    } catch (err) {
      this.forget(r);
      r.abort.abort();
      throw err;
    }
    if (!created) {
      this.forget(r);
      r.abort.abort();
      return {
        kind: 'refused',
        message: `You already have ${cfg.MAX_TASKS_PER_PRINCIPAL} tasks running (MAX_TASKS_PER_PRINCIPAL=${cfg.MAX_TASKS_PER_PRINCIPAL}); wait for one to finish, or cancel one with tasks/cancel.`,
      };
    }
    this.o.metrics?.tasksStarted.inc({ tool: call.tool });
    this.o.metrics?.tasksRunning.set(this.running.size);
    void this.run(r, first);
    return { kind: 'task', record };
  }

  /** The owner's task and, once completed, its result; undefined for unknown or foreign ids. */
  async get(owner: string, id: string): Promise<TaskView | undefined> {
    const record = await this.o.store.get(owner, id, this.lostMessage);
    if (!record) return undefined;
    if (record.status !== 'completed') return { record };
    const result = (await this.o.store.result(owner, id)) as Record<string, unknown> | undefined;
    return { record, ...(result ? { result } : {}) };
  }

  /** Cancels the owner's task: settled at once in the store, its work stopped wherever it runs. */
  async cancel(owner: string, id: string): Promise<'cancelled' | 'terminal' | 'not-found'> {
    const outcome = await this.o.store.cancel(owner, id, 'Cancelled by the client.');
    if (outcome !== 'cancelled') return outcome;
    const local = this.running.get(id);
    if (local && local.record.owner === owner) this.stop(local, 'cancel');
    else
      await this.o.bus
        .publish(CANCEL_CHANNEL, { kind: 'task', action: 'cancel', taskId: id, owner })
        .catch((err: unknown) => this.o.logger.warn({ err, task: id }, 'task cancel not forwarded'));
    return outcome;
  }

  /** The client's answers to the task's input requests (tasks/update). */
  async update(owner: string, id: string, responses: Record<string, unknown>): Promise<'ok' | 'not-found'> {
    const outcome = await this.o.store.addInput(owner, id, responses);
    if (outcome === 'ok') {
      const local = this.running.get(id);
      if (local && local.record.owner === owner) local.wake?.();
      else
        await this.o.bus
          .publish(CANCEL_CHANNEL, { kind: 'task', action: 'input', taskId: id, owner })
          .catch(() => undefined);
    }
    return outcome;
  }

  /** Waits until the task settles (the 2025-11-25 tasks/result); undefined if it is not found or `open()` turns false. */
  async waitForEnd(owner: string, id: string, open: () => boolean): Promise<TaskView | undefined> {
    for (;;) {
      const view = await this.get(owner, id);
      if (!view || !isActive(view.record.status) || !open()) return view;
      await new Promise((resolve) => setTimeout(resolve, 500).unref());
    }
  }

  /** Stops every task this instance runs; they read failed (their clients may start them again). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retry) clearTimeout(this.retry);
    await this.unsubscribe?.().catch(() => undefined);
    const settling = [...this.running.values()].map((r) => {
      this.stop(r, 'shutdown');
      return this.o.store
        .finish(r.record.owner, r.record.id, {
          status: 'failed',
          statusMessage: 'The server instance running this task shut down; start the call again.',
          error: { code: -32603, message: 'The server instance running this task shut down' },
          keepUntil: this.keepUntil(),
        })
        .catch(() => false);
    });
    await Promise.all(settling);
    await this.o.store.close();
  }

  /** Tasks running here. */
  get size(): number {
    return this.running.size;
  }

  private invoke(r: Running, call: ToolInvocation): Promise<InvocationOutcome> {
    let last = 0;
    let pending: string | undefined;
    return this.o.execute(call, r.abort.signal, (message) => {
      // Throttled: a tool may report every 500 ms; the store needs far less.
      pending = message;
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS) return;
      last = now;
      void this.o.store
        .update(r.record.owner, r.record.id, { status: 'working', statusMessage: pending })
        .catch(() => undefined);
    });
  }

  private async run(r: Running, first: Promise<InvocationOutcome> | undefined): Promise<void> {
    let call = r.call;
    let pending = first ?? this.invoke(r, call);
    for (;;) {
      let outcome: InvocationOutcome;
      try {
        outcome = await pending;
      } catch (err) {
        if (!r.abort.signal.aborted)
          this.o.logger.error({ err, task: r.record.id }, 'task failed unexpectedly');
        outcome = { kind: 'error', error: { code: -32603, message: 'The task failed unexpectedly' } };
      }
      if (r.abort.signal.aborted) return this.settleAborted(r);
      if (
        outcome.kind === 'result' &&
        outcome.result.resultType === 'input_required' &&
        call.era === 'legacy'
      ) {
        // 2025-11-25 tasks carry input on a tasks/result stream; ours has none to offer.
        const message = `${call.tool} asked the client for input, which a 2025-11-25 task cannot carry here; call it without a task`;
        return this.settle(r, { kind: 'error', error: { code: -32603, message } });
      }
      if (outcome.kind === 'result' && outcome.result.resultType === 'input_required') {
        const responses = await this.awaitInput(r, outcome.result);
        if (responses === undefined) return this.settleAborted(r);
        const state = outcome.result.requestState;
        call = {
          ...call,
          inputResponses: responses,
          ...(typeof state === 'string' ? { requestState: state } : {}),
        };
        pending = this.invoke(r, call);
        continue;
      }
      return this.settle(r, outcome);
    }
  }

  /** Parks the task in input_required until every request is answered; undefined if stopped. */
  private async awaitInput(
    r: Running,
    asked: Record<string, unknown>,
  ): Promise<Record<string, unknown> | undefined> {
    const { owner, id } = r.record;
    const requests = (asked.inputRequests ?? {}) as Record<string, unknown>;
    const keys = Object.keys(requests);
    const parked = await this.o.store
      .update(owner, id, {
        status: 'input_required',
        statusMessage:
          `Waiting for the client's answer to ${keys.length} request(s): ${keys.join(', ')}`.slice(0, 500),
        inputRequests: requests,
      })
      .catch(() => false);
    if (!parked) {
      if (!r.abort.signal.aborted) this.stop(r, 'cancel');
      return undefined;
    }
    const onAbort = () => r.wake?.();
    r.abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.collectInput(r);
    } finally {
      r.abort.signal.removeEventListener('abort', onAbort);
      r.wake = undefined;
    }
  }

  /** Polls the store (woken early by tasks/update or a cancel) until the answers are all in. */
  private async collectInput(r: Running): Promise<Record<string, unknown> | undefined> {
    const { owner, id } = r.record;
    // A wake-up between reading the store and starting to wait is kept, not lost.
    let woken = false;
    let resume: (() => void) | undefined;
    r.wake = () => {
      woken = true;
      resume?.();
    };
    while (!r.abort.signal.aborted) {
      woken = false;
      const current = await this.o.store.get(owner, id, this.lostMessage).catch(() => undefined);
      if (current && !isActive(current.status)) {
        this.stop(r, 'cancel');
        break;
      }
      if (current?.status === 'working') return this.o.store.takeInput(owner, id);
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.config.TASK_HEARTBEAT_SECONDS * 1000);
        resume = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      resume = undefined;
    }
    return undefined;
  }

  private async settle(r: Running, outcome: InvocationOutcome): Promise<void> {
    const end =
      outcome.kind === 'result'
        ? {
            status: 'completed' as const,
            statusMessage: outcome.result.isError === true ? 'Finished with a tool error' : 'Finished',
            result: outcome.result,
          }
        : {
            status: 'failed' as const,
            statusMessage: `Failed: ${outcome.error.message}`.slice(0, 500),
            error: outcome.error,
          };
    await this.end(
      r,
      end,
      outcome.kind === 'error' ? 'error' : outcome.result.isError === true ? 'error' : 'ok',
    );
  }

  private async settleAborted(r: Running): Promise<void> {
    if (r.reason === 'cancel') {
      // The store says cancelled already (tasks/cancel writes it before stopping the work).
      return this.end(r, undefined, 'cancelled');
    }
    if (r.reason === 'shutdown' || r.reason === 'lost') return this.end(r, undefined, 'abandoned');
    const message = `The task ran past TASK_DEADLINE_SECONDS (${this.o.config.TASK_DEADLINE_SECONDS} s) and was stopped`;
    return this.end(
      r,
      { status: 'failed', statusMessage: message, error: { code: -32603, message } },
      'error',
    );
  }

  private async end(
    r: Running,
    end:
      | { status: 'completed' | 'failed'; statusMessage: string; result?: unknown; error?: RpcError }
      | undefined,
    outcome: AuditRecord['outcome'],
  ): Promise<void> {
    this.forget(r);
    const { owner, id, tool, expiresAt } = r.record;
    let status: string = r.reason === 'cancel' ? 'cancelled' : (end?.status ?? 'failed');
    if (end) {
      const written = await this.o.store
        .finish(owner, id, { ...end, keepUntil: Math.max(expiresAt, this.keepUntil()) })
        .catch((err: unknown) => {
          this.o.logger.warn({ err, task: id }, 'task result not stored');
          return false;
        });
      // Cancelled or lost meanwhile: that state stands.
      if (!written) status = 'cancelled';
    }
    const seconds = (performance.now() - r.started) / 1000;
    this.o.metrics?.tasksFinished.inc({ tool, status });
    this.o.metrics?.taskDuration.observe({ tool, status }, seconds);
    this.o.metrics?.tasksRunning.set(this.running.size);
    this.o.audit?.({
      principal: owner,
      ...(r.call.sessionId ? { session: r.call.sessionId } : {}),
      tool,
      args: digestArgs(r.call.arguments),
      outcome,
      durationMs: Math.round(seconds * 1000),
      task: id,
    });
  }

  /** A task that outran its TTL is still kept a little after it settles, for its client to read. */
  private keepUntil(): number {
    return Date.now() + Math.min(this.o.config.TASK_TTL_SECONDS * 1000, MIN_KEEP_MS);
  }

  private stop(r: Running, reason: NonNullable<Running['reason']>): void {
    if (r.abort.signal.aborted) return;
    r.reason = reason;
    r.abort.abort(new Error(`task ${reason}`));
  }

  private forget(r: Running): void {
    clearTimeout(r.timer);
    if (this.running.get(r.record.id) === r) this.running.delete(r.record.id);
  }

  private async renewAll(): Promise<void> {
    const leaseUntil = Date.now() + this.leaseMs;
    const deadline = this.o.config.TASK_DEADLINE_SECONDS;
    let overdue = 0;
    await Promise.all(
      [...this.running.values()].map(async (r) => {
        if ((performance.now() - r.started) / 1000 > deadline) overdue++;
        try {
          // Not active any more: cancelled (the message was lost), or failed by a reader while
          // this instance could not renew (Redis unreachable, the process paused).
          if (!(await this.o.store.renew(r.record.owner, r.record.id, leaseUntil))) {
            const now = await this.o.store
              .get(r.record.owner, r.record.id, this.lostMessage)
              .catch(() => undefined);
            this.stop(r, now?.status === 'cancelled' ? 'cancel' : 'lost');
          }
        } catch (err) {
          this.o.logger.warn({ err, task: r.record.id }, 'task lease not renewed');
        }
      }),
    );
    this.o.metrics?.tasksOverdue.set(overdue);
  }
}
