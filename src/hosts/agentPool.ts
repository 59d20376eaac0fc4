/**
 * Calls to host agents (issue 19): one SDK v2 client per agent, pinned to MCP 2026-07-28
 * (stateless, so one client serves concurrent calls), reused across calls and sessions. Each
 * call runs behind the resilience layer (a breaker per agent, retries of connection failures),
 * within the caller's deadline and cancellation. The credential sent is the agent's own key
 * from HOSTS_FILE (the fleet's agent key for a self-registered agent), never the caller's token; redirects are refused, so a registry entry cannot
 * be bounced to another address.
 */
import { lookup } from 'node:dns/promises';
import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { neverATarget } from '../net/ssrf.js';
import type { Resilience } from '../resilience/resilience.js';
import type { HostEntry } from './registry.js';

/**
 * The most an agent's answer may be. Agents answer a few KB (a baseline: tens of KB); an agent
 * URL read from Redis could point anywhere, and a multi-GB body must not fill this process.
 */
export const MAX_AGENT_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Where the pool learns that a host's URL or key changed (HostRegistry, HostSet). */
export interface HostLookup {
  find(name: string): HostEntry | undefined;
  onChange(fn: () => void): void;
}

export const AGENT_DEPENDENCY = 'agent';
const MODERN = '2026-07-28';

/**
 * Failures before the request reached the agent: safe to retry even for a tool that writes (a
 * baseline). A reset mid-call is not retried: the agent may have saved a baseline already.
 */
const BEFORE_REQUEST = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

export interface AgentAnswer {
  isError: boolean;
  /** The agent's text content, joined. */
  text: string;
  structured?: Record<string, unknown>;
}

export interface AgentStatus {
  breaker: 'closed' | 'open' | 'half_open';
  lastContact: string | null;
  lastError: string | null;
  agentVersion: string | null;
  lastHealth: { status: string; score: number; at: string } | null;
}

interface Slot {
  url: string;
  apiKey: string;
  /** Self-registered (Redis): its address is checked before each request (agentFetch). */
  registered: boolean;
  client?: Promise<Client>;
  status: Omit<AgentStatus, 'breaker'>;
}

export class AgentUnreachableError extends Error {
  override name = 'AgentUnreachableError';
}

export class AgentPool {
  private readonly slots = new Map<string, Slot>();

  constructor(
    readonly registry: HostLookup,
    private readonly resilience: Resilience,
    private readonly clientVersion: string,
  ) {
    // A changed URL or key gets a new client; a removed host's client is closed.
    registry.onChange(() => {
      for (const [name, slot] of this.slots) {
        const h = registry.find(name);
        if (!h || h.url !== slot.url || h.apiKey !== slot.apiKey) {
          this.slots.delete(name);
          void slot.client?.then((c) => c.close()).catch(() => undefined);
        }
      }
    });
  }

  status(name: string): AgentStatus {
    const slot = this.slots.get(name);
    return {
      breaker: this.resilience.state(
        AGENT_DEPENDENCY,
        breakerTarget(name, slot?.url ?? this.registry.find(name)?.url),
      ),
      lastContact: slot?.status.lastContact ?? null,
      lastError: slot?.status.lastError ?? null,
      agentVersion: slot?.status.agentVersion ?? null,
      lastHealth: slot?.status.lastHealth ?? null,
    };
  }

  /**
   * Calls `tool` on the host's agent. A tool error on the agent is an answer (returned, not a
   * breaker failure); no answer (refused, timed out, 401) throws AgentUnreachableError.
   */
  async call(
    host: HostEntry,
    tool: string,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; deadlineMs: number },
  ): Promise<AgentAnswer> {
    const answer = await this.run(host, opts, async (client, signal) => {
      const r = await client.callTool({ name: tool, arguments: args }, { signal, timeout: opts.deadlineMs });
      const content = (r.content ?? []) as Array<{ type: string; text?: string }>;
      return {
        isError: r.isError === true,
        text: content
          .filter((c) => c.type === 'text')
          .map((c) => c.text ?? '')
          .join('\n'),
        structured: r.structuredContent as Record<string, unknown> | undefined,
      };
    });
    if (tool === 'run_health_check' && !answer.isError && answer.structured) {
      const s = answer.structured;
      if (typeof s.status === 'string' && typeof s.score === 'number')
        this.slot(host).status.lastHealth = {
          status: s.status,
          score: s.score,
          at: String(s.checkedAt ?? ''),
        };
    }
    return answer;
  }

  /**
   * Reads a resource of the host's agent (a stored baseline), its text; undefined when the agent
   * answers that it has no such resource. No answer throws AgentUnreachableError.
   */
  async readResource(
    host: HostEntry,
    uri: string,
    opts: { signal: AbortSignal; deadlineMs: number },
  ): Promise<string | undefined> {
    return this.run(host, opts, async (client, signal) => {
      try {
        const r = await client.readResource({ uri }, { signal, timeout: opts.deadlineMs });
        const first = r.contents[0] as { text?: string } | undefined;
        return typeof first?.text === 'string' ? first.text : undefined;
      } catch (err) {
        // "Not found" (-32002; -32602 from older servers) is the agent's answer, not its failure.
        if (err instanceof ProtocolError && (err.code === -32002 || err.code === -32602)) return undefined;
        throw err;
      }
    });
  }

  /** One exchange with the agent behind its breaker, within the caller's deadline and cancellation. */
  private async run<T>(
    host: HostEntry,
    opts: { signal: AbortSignal; deadlineMs: number },
    exchange: (client: Client, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const slot = this.slot(host);
    try {
      const answer = await this.resilience.guarded(
        AGENT_DEPENDENCY,
        breakerTarget(host.name, host.url),
        async (signal) => {
          const client = await this.client(slot, signal);
          try {
            return await exchange(client, signal);
          } catch (err) {
            throw connectPhase(err);
          }
        },
        { signal: opts.signal, deadlineMs: opts.deadlineMs, timeoutMs: opts.deadlineMs },
      );
      slot.status.lastContact = new Date().toISOString();
      slot.status.lastError = null;
      return answer;
    } catch (err) {
      if (opts.signal.aborted) throw err;
      const why = describe(err);
      slot.status.lastError = why;
      // A broken connection is not reused: the next call connects afresh.
      if (slot.client) {
        const c = slot.client;
        slot.client = undefined;
        void c.then((cl) => cl.close()).catch(() => undefined);
      }
      throw new AgentUnreachableError(`host ${host.name}: agent unreachable (${why})`);
    }
  }

  close(): void {
    for (const slot of this.slots.values()) void slot.client?.then((c) => c.close()).catch(() => undefined);
    this.slots.clear();
  }

  private slot(host: HostEntry): Slot {
    let slot = this.slots.get(host.name);
    if (!slot || slot.url !== host.url || slot.apiKey !== host.apiKey) {
      slot = {
        url: host.url,
        apiKey: host.apiKey,
        registered: (host as { source?: string }).source === 'registered',
        status: slot?.status ?? { lastContact: null, lastError: null, agentVersion: null, lastHealth: null },
      };
      this.slots.set(host.name, slot);
    }
    return slot;
  }

  private async client(slot: Slot, signal: AbortSignal): Promise<Client> {
    if (!slot.client) {
      const pending = (async () => {
        const client = new Client(
          { name: 'server-audit-mcp-fleet', version: this.clientVersion },
          { versionNegotiation: { mode: { pin: MODERN } } },
        );
        await client.connect(
          new StreamableHTTPClientTransport(new URL(slot.url), {
            // The agent's key, set here and nowhere else: the caller's token is never forwarded.
            requestInit: { headers: { Authorization: `Bearer ${slot.apiKey}` }, redirect: 'error' },
            fetch: (url, init) => agentFetch(url, init, slot.registered),
          }),
          { signal },
        );
        slot.status.agentVersion = client.getServerVersion()?.version ?? null;
        return client;
      })();
      slot.client = pending;
      pending.catch(() => {
        if (slot.client === pending) slot.client = undefined;
      });
    }
    try {
      return await slot.client;
    } catch (err) {
      throw connectPhase(err);
    }
  }
}

/**
 * One breaker per agent address: an agent that comes back at a new URL (a restarted pod) is not
 * held behind the breaker its old address opened. Old keys age out of the bounded breaker map.
 */
function breakerTarget(name: string, url: string | undefined): string {
  return url ? `${name} ${url}` : name;
}

/**
 * fetch for agent calls: the answer's body is cut off past MAX_AGENT_RESPONSE_BYTES (an error,
 * so the call fails as unreachable), and a self-registered agent's address is refused when it is
 * one that is never a target (cloud metadata, link-local, multicast: src/net/ssrf.ts). Private
 * addresses stay allowed: agents live there. HOSTS_FILE URLs are the operator's own and skip the
 * address check; redirects are refused for both.
 */
async function agentFetch(url: string | URL, init: RequestInit | undefined, registered: boolean) {
  if (registered) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const addresses = await lookup(host, { all: true, verbatim: true });
    for (const { address } of addresses) {
      const why = neverATarget(address);
      if (why) throw new Error(`registered agent URL ${new URL(url).host} resolves to ${why}`);
    }
  }
  const res = await fetch(url, init);
  if (!res.body) return res;
  let seen = 0;
  const capped = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > MAX_AGENT_RESPONSE_BYTES)
          controller.error(new Error(`the agent's answer exceeds ${MAX_AGENT_RESPONSE_BYTES} bytes`));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new Response(capped, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** fetch wraps socket errors in `cause`; surface the code the resilience layer retries on. */
function connectPhase(err: unknown): unknown {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && BEFORE_REQUEST.has(code))
      return Object.assign(new Error((e as Error).message), { code });
    e = (e as { cause?: unknown }).cause;
  }
  // Anything else must not be retried as transient (the agent may have acted).
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') {
    const copy = new Error(err.message);
    return Object.assign(copy, { agentCode: (err as NodeJS.ErrnoException).code });
  }
  return err;
}

function describe(err: unknown): string {
  let e: unknown = err;
  const parts: string[] = [];
  for (let i = 0; i < 3 && e; i++) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as { agentCode?: string }).agentCode;
    const msg = (e as Error).message;
    if (msg) parts.push(code && !msg.includes(String(code)) ? `${msg} (${code})` : msg);
    e = (e as { cause?: unknown }).cause;
  }
  return (parts.join(': ') || 'unknown error').slice(0, 300);
}
