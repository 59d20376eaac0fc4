import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, type Thresholds } from './audit/health/thresholds.js';
import { loadThresholdsFile } from './thresholdsFile.js';
import { splitHostPort } from './net/hostPort.js';
import { type Allowlist, emptyAllowlist, parseAllowlist } from './audit/bots/allowlist.js';
import { readOperatorFileSync } from './host/verifiedFile.js';

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { HELP, parseCli } from './cli.js';
import { ConfigError } from './configError.js';
import type { AuthSettings } from './auth/authenticator.js';
import { loadAuthSettings } from './auth/authSettings.js';
import { type DbTarget, loadDbTargetsFile } from './dbTargetsFile.js';
import { type HostRegistryData, loadHostsFile } from './hosts/registry.js';
import {
  agentNameFromNode,
  HOST_NAME_RE,
  isAgentUrl,
  MAX_RECORD_BYTES,
  NODE_NAME_RE,
  parseAgentLabels,
} from './hosts/agentRecords.js';

export { ConfigError, HELP };

/** Variables whose values are, or may contain, credentials. */
// AGENT_URL: a refused one may carry user info or a token, and its value is never echoed.
const SECRET_VARS = new Set(['AUTH_JWT_SECRET', 'REDIS_URL', 'FLEET_AGENT_KEY', 'AGENT_URL']);

/** Groups of tools an operator may offer (TOOLSETS); tools/index.ts maps each tool to one. */
export const TOOLSET_NAMES = ['health', 'logs', 'network', 'config', 'database'] as const;
export type Toolset = (typeof TOOLSET_NAMES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `A, B,,C,` -> [A, B, C]: empty entries dropped so doubled and trailing commas are harmless. */
const splitList = (s: string): string[] =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);

/** Comma-separated list; empty entries dropped so `A,,B` and trailing commas are harmless. */
const csv = z.string().transform(splitList).optional();

const intInRange = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });

/** 192.0.2.53, 192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353, as node's dns.setServers takes them. */
function isDnsServer(s: string): boolean {
  const hp = splitHostPort(s, 53);
  return hp !== undefined && isIP(hp.host) !== 0;
}

/** Comma-separated host:port pairs (Sentinel or Cluster nodes). */
const hostPortList = z
  .string()
  .transform(splitList)
  .refine((a) => a.length > 0 && a.every((h) => /^(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}$/.test(h)), {
    error: 'must be a comma-separated list of host:port',
  })
  .optional();

/** Comma-separated IPs/CIDRs, each parsed by ipaddr.js. */
const cidrList = z
  .string()
  .transform(splitList)
  .refine((a) => a.every((c) => (c.includes('/') ? ipaddr.isValidCIDR(c) : ipaddr.isValid(c))), {
    error: 'must be a comma-separated list of IPs or CIDRs (e.g. 10.0.0.0/8,2001:db8::/32)',
  })
  .optional();

function isHttpUrl(u: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}

const httpUrl = z.string().refine(isHttpUrl, { error: 'must be an http:// or https:// URL' });

/** Keys and authorization servers over plain HTTP could be swapped on the way: loopback only. */
function isSecureUrl(u: string): boolean {
  if (!isHttpUrl(u)) return false;
  const url = new URL(u);
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}

const secureUrl = z
  .string()
  .refine(isSecureUrl, { error: 'must be an https:// URL (http:// only on loopback)' });

const absolutePath = z.string().refine((p) => p.startsWith('/'), { error: 'must be an absolute path' });

/**
 * Every environment variable the server reads, with its default. README.md and .env.example
 * list the same names; tests/unit/config.test.ts checks each bad value gives a clear message.
 */
export const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intInRange(0, 65535).default(3000),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** Unset: pretty on a terminal, JSON lines otherwise (services, log shippers). */
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
  TOOLSETS: z
    .string()
    .transform(splitList)
    .refine((a) => a.length > 0 && a.every((t) => (TOOLSET_NAMES as readonly string[]).includes(t)), {
      error: `must be a comma-separated list of ${TOOLSET_NAMES.join(', ')}`,
    })
    .transform((a) => a as Toolset[])
    .default([...TOOLSET_NAMES]),
  ALLOWED_HOSTS: csv,
  ALLOWED_ORIGINS: csv,
  SESSION_TTL_SECONDS: intInRange(10, 7 * 24 * 3600).default(1800),
  MAX_BODY_BYTES: intInRange(1024, 64 * 1024 * 1024).default(1024 * 1024),
  SHUTDOWN_GRACE_SECONDS: intInRange(0, 600).default(30),
  HOST_PROC: absolutePath.default('/proc'),
  HOST_SYS: absolutePath.default('/sys'),
  HOST_ROOT: absolutePath.default('/'),
  /** Unset: the per-user data folder (defaultDataDir), so a desktop client starting us from / works. */
  DATA_DIR: z.string().min(1).optional(),
  AUDIT_ALLOWED_PATHS: z
    .string()
    .transform(splitList)
    .refine((a) => a.length > 0 && a.every((p) => p.startsWith('/')), {
      error: 'must be a comma-separated list of absolute paths',
    })
    .default(['/var/log']),
  THRESHOLDS_FILE: z.string().min(1).optional(),
  /** The audited hosts and their agents (src/hosts/registry.ts); absent: this machine only. */
  HOSTS_FILE: absolutePath.optional(),
  // Agents registering themselves in Redis (src/hosts/agentDirectory.ts). Agent side:
  AGENT_NAME: z
    .string()
    .regex(HOST_NAME_RE, { error: 'must be 1-63 characters of a-z, 0-9 and "-" (not at either end)' })
    .optional(),
  /** Kubernetes (downward API spec.nodeName): the agent name is derived from it (agentNameFromNode). */
  AGENT_NODE_NAME: z
    .string()
    .regex(NODE_NAME_RE, {
      error: 'must be a Kubernetes node name: 1-253 characters of a-z, 0-9, "-" and "."',
    })
    .optional(),
  AGENT_URL: z
    .string()
    .max(2048)
    .refine(isAgentUrl, { error: 'must be an http:// or https:// URL without user info, query or fragment' })
    .optional(),
  AGENT_LABELS: z.string().optional(),
  AGENT_HEARTBEAT_SECONDS: intInRange(1, 300).default(10),
  // Serving side: the key registered agents are called with (never in Redis), the bound, the re-read.
  FLEET_AGENT_KEY_FILE: absolutePath.optional(),
  FLEET_AGENT_KEY: z
    .string()
    .min(16, { error: 'must be at least 16 characters (a key from keygen)' })
    .optional(),
  FLEET_AGENTS_MAX: intInRange(1, 10_000).default(1000),
  FLEET_AGENTS_REFRESH_SECONDS: intInRange(1, 300).default(5),
  BASELINE_MAX_COUNT: intInRange(1, 1_000_000).default(1000),
  BASELINE_MAX_BYTES: intInRange(1024 * 1024, 100 * 1024 ** 3).default(50 * 1024 * 1024),
  BASELINE_MAX_PER_PRINCIPAL: intInRange(1, 1_000_000).default(100),
  TOOL_DEADLINE_SECONDS: intInRange(1, 3600).default(50),
  // Tasks (tasks/taskService.ts): a task's deadline, how long its record lives from creation,
  // running tasks per principal (fleet-wide) and per instance, the runner's heartbeat.
  TASK_DEADLINE_SECONDS: intInRange(1, 86_400).default(1800),
  TASK_TTL_SECONDS: intInRange(1, 7 * 86_400).default(3600),
  MAX_TASKS_PER_PRINCIPAL: intInRange(1, 1000).default(4),
  MAX_TASKS_RUNNING: intInRange(1, 10_000).default(32),
  TASK_HEARTBEAT_SECONDS: intInRange(1, 300).default(5),
  BOT_ALLOWLIST_FILES: z
    .string()
    .transform(splitList)
    .refine((a) => a.every((p) => p.startsWith('/')), {
      error: 'must be a comma-separated list of absolute paths',
    })
    .optional(),
  DNS_SERVERS: z
    .string()
    .transform(splitList)
    .refine((a) => a.every(isDnsServer), {
      error: 'must be a comma-separated list of IP or IP:port (IPv6 as [addr]:port)',
    })
    .optional(),
  OUTBOUND_TIMEOUT_MS: intInRange(100, 120_000).default(5000),
  RETRY_COUNT: intInRange(0, 10).default(2),
  RETRY_MIN_MS: intInRange(1, 60_000).default(100),
  RETRY_MAX_MS: intInRange(1, 300_000).default(2000),
  BREAKER_ERROR_PERCENT: intInRange(1, 100).default(50),
  BREAKER_VOLUME: intInRange(1, 10_000).default(5),
  BREAKER_RESET_MS: intInRange(100, 3_600_000).default(30_000),
  BREAKER_MAX: intInRange(10, 1_000_000).default(1000),
  OUTBOUND_DENY_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
  OUTBOUND_ALLOW: cidrList,
  OUTBOUND_DENY: cidrList,
  REDIS_URL: z
    .string()
    .refine((u) => /^rediss?:\/\/[^\s]+$/.test(u), { error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, { error: 'must be 1-64 letters, digits or _ : . -' })
    .default('sam:'),
  REDIS_SENTINELS: hostPortList,
  REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
  REDIS_CLUSTER_NODES: hostPortList,
  REDIS_COMMAND_TIMEOUT_MS: intInRange(50, 60_000).default(1000),
  RATE_LIMIT_PER_MINUTE: intInRange(0, 1_000_000).default(600),
  RATE_LIMIT_BURST: intInRange(0, 100_000).default(50),
  // Caps per principal and per instance (issue 17): each open GET stream holds a server, each
  // running tool call CPU and file handles.
  MAX_STREAMS_PER_PRINCIPAL: intInRange(1, 100_000).default(16),
  MAX_STREAMS: intInRange(1, 1_000_000).default(1000),
  MAX_CONCURRENT_CALLS_PER_PRINCIPAL: intInRange(1, 10_000).default(8),
  NTP_SERVERS: z
    .string()
    .transform(splitList)
    .refine((a) => a.length > 0 && a.every((h) => /^[\w.:[\]-]+$/.test(h)), {
      error: 'must be a comma-separated list of host names or IPs (optionally :port)',
    })
    .default(['pool.ntp.org']),
  AUTH_JWT_SECRET: z
    .string()
    .refine((v) => Buffer.byteLength(v, 'utf8') >= 32, {
      error: 'must be at least 32 bytes (e.g. openssl rand -base64 48)',
    })
    .optional(),
  AUTH_JWKS_URL: secureUrl.optional(),
  AUTH_PUBLIC_KEY_FILE: absolutePath.optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  AUTH_CLOCK_TOLERANCE_SECONDS: intInRange(0, 300).default(30),
  AUTH_JWKS_CACHE_SECONDS: intInRange(1, 86_400).default(600),
  AUTH_JWKS_COOLDOWN_SECONDS: intInRange(0, 3600).default(30),
  AUTH_API_KEYS_FILE: absolutePath.optional(),
  AUTH_AUTHORIZATION_SERVERS: z
    .string()
    .transform(splitList)
    .refine((a) => a.every(isSecureUrl), {
      error: 'must be a comma-separated list of https:// URLs (http:// only on loopback)',
    })
    .optional(),
  AUTH_RESOURCE_URL: httpUrl.optional(),
  AUTH_DISABLED: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
  AUTH_FAILURE_LIMIT: intInRange(1, 10_000).default(10),
  AUTH_FAILURE_WINDOW_SECONDS: intInRange(1, 86_400).default(300),
  AUDIT_LOG_FILE: absolutePath.optional(),
  TRUST_PROXY: z
    .string()
    .refine(
      (v) =>
        /^(\d{1,2}|loopback|false)$/.test(v) ||
        v.split(',').every((c) => ipaddr.isValidCIDR(c.trim()) || ipaddr.isValid(c.trim())),
      {
        error: 'must be a hop count (e.g. 1), loopback, false, or a comma-separated list of proxy IPs/CIDRs',
      },
    )
    .default('false'),
  SECRETS_ALLOWLIST_FILE: absolutePath.optional(),
  DB_TARGETS_FILE: absolutePath.optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Omit<Env, 'DATA_DIR'> {
  /** Absolute: DATA_DIR resolved against the working directory, or the per-user default. */
  DATA_DIR: string;
  transport: 'http' | 'stdio';
  /** Defaults merged with THRESHOLDS_FILE, validated at start-up. */
  thresholds: Thresholds;
  /** HOSTS_FILE as read at start-up (re-read on change by src/hosts/hostRouter.ts). */
  hosts?: HostRegistryData;
  /** AGENT_NAME set: this server registers itself in Redis as an agent. */
  agent?: { name: string; url: string; labels: Record<string, string>; heartbeatSeconds: number };
  /**
   * FLEET_AGENT_KEY(_FILE) set (fleet mode): agents registered in Redis are routed to, called with
   * `key` (non-enumerable, so never serialised).
   */
  registeredAgents?: { key: string; max: number; refreshSeconds: number };
  /** Host names accepted in the Host header (DNS-rebinding protection). */
  allowedHosts: string[];
  /** Origins accepted in the Origin header; `null` means "any loopback origin". */
  allowedOrigins: string[] | null;
  /** BOT_ALLOWLIST_FILES, read and validated at start-up. */
  botAllowlist: Allowlist;
  /** The AUTH_* settings, key files read and validated at start-up. */
  auth: AuthSettings;
  /** DB_TARGETS_FILE, validated at start-up (passwords resolved, never enumerable); [] when unset. */
  dbTargets: DbTarget[];
}

export type CliAction = { kind: 'run'; config: Config } | { kind: 'help' } | { kind: 'version' };

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Parses argv and the environment into a validated Config, or throws ConfigError with one line. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CliAction {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`);
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) {
    // An empty variable (`PORT=`) means "use the default", as in most shells' configs.
    const value = env[key];
    raw[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  if (values.host !== undefined) raw.HOST = values.host;
  if (values.port !== undefined) raw.PORT = values.port;

  const result = envSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? 'environment');
    // Never echo a value that may hold a credential: the message ends up in logs.
    const shown = raw[key] === undefined || SECRET_VARS.has(key) ? '' : ` (got "${raw[key]}")`;
    throw new ConfigError(`Invalid ${key}${shown}: ${issue?.message ?? 'invalid value'}`);
  }
  const e = result.data;
  const transport = values.stdio ? 'stdio' : 'http';
  const auth = loadAuthSettings(e);
  if (transport === 'http' && !isLoopbackHost(e.HOST) && auth.mode === 'none') {
    // An audit server reachable from the network without authentication hands host facts to anyone.
    throw new ConfigError(
      `Invalid HOST (got "${e.HOST}"): binding beyond loopback needs authentication: set AUTH_API_KEYS_FILE, AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE (or AUTH_DISABLED=true on a private network you trust)`,
    );
  }
  const agent = agentSettings(e, transport, auth.apiKeys.length > 0 || Boolean(e.AUTH_API_KEYS_FILE));
  const allowedHosts = (e.ALLOWED_HOSTS ?? LOOPBACK_NAMES).map(normaliseHostName);
  if (agent) {
    // The Host header of the fleet's calls is AGENT_URL's host: outside ALLOWED_HOSTS every call
    // would be refused with 403 while the agent looks registered.
    const host = new URL(agent.url).hostname;
    if (!allowedHosts.includes(host))
      throw new ConfigError(
        `Invalid AGENT_URL: its host ${host} is not in ALLOWED_HOSTS (${allowedHosts.join(', ')}); add it to ALLOWED_HOSTS, or serving instances' calls are refused with 403`,
      );
  }
  const registeredAgents = registeredAgentSettings(e);
  // The key itself stays out of the config's enumerable fields (registeredAgents.key holds it).
  const { FLEET_AGENT_KEY: _fleetKey, ...settings } = e;
  void _fleetKey;
  return {
    kind: 'run',
    config: {
      ...settings,
      ...(agent ? { agent } : {}),
      ...(registeredAgents ? { registeredAgents } : {}),
      DATA_DIR: e.DATA_DIR ? resolve(e.DATA_DIR) : defaultDataDir(env),
      transport,
      thresholds: e.THRESHOLDS_FILE ? loadThresholdsFile(e.THRESHOLDS_FILE) : DEFAULT_THRESHOLDS,
      ...(e.HOSTS_FILE ? { hosts: loadHostsFile(e.HOSTS_FILE, env) } : {}),
      allowedHosts,
      allowedOrigins: e.ALLOWED_ORIGINS ? e.ALLOWED_ORIGINS.map(normaliseOrigin) : null,
      botAllowlist: loadAllowlistFiles(e.BOT_ALLOWLIST_FILES ?? []),
      auth,
      dbTargets: e.DB_TARGETS_FILE ? loadDbTargetsFile(e.DB_TARGETS_FILE, env) : [],
    },
  };
}

const fleetModeEnv = (e: Env) => Boolean(e.REDIS_URL || e.REDIS_SENTINELS || e.REDIS_CLUSTER_NODES);

/** AGENT_*: registering this server in Redis as an agent; checked together, one line on error. */
function agentSettings(e: Env, transport: 'http' | 'stdio', apiKeys: boolean): Config['agent'] {
  if (e.AGENT_NAME && e.AGENT_NODE_NAME)
    throw new ConfigError(
      'Invalid AGENT_NODE_NAME: set AGENT_NAME or AGENT_NODE_NAME (a node name the agent name is derived from), not both',
    );
  const name = e.AGENT_NAME ?? (e.AGENT_NODE_NAME ? agentNameFromNode(e.AGENT_NODE_NAME) : undefined);
  if (!name) {
    if (e.AGENT_URL || e.AGENT_LABELS)
      throw new ConfigError(
        `Invalid ${e.AGENT_URL ? 'AGENT_URL' : 'AGENT_LABELS'}: it needs AGENT_NAME (the name this agent registers under) or AGENT_NODE_NAME`,
      );
    return undefined;
  }
  const setting = e.AGENT_NAME ? 'AGENT_NAME' : 'AGENT_NODE_NAME';
  const fail = (why: string) =>
    new ConfigError(`Invalid ${setting} (got "${e.AGENT_NAME ?? e.AGENT_NODE_NAME}"): ${why}`);
  if (transport !== 'http') throw fail('an agent serves HTTP; it cannot register itself with --stdio');
  if (!fleetModeEnv(e))
    throw fail(
      'an agent registers itself in Redis: set REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES)',
    );
  if (!e.AGENT_URL)
    throw fail('set AGENT_URL to the URL serving instances call, e.g. http://web1.internal:3000/mcp');
  if (!apiKeys)
    throw fail(
      "serving instances call a registered agent with the fleet's agent key: set AUTH_API_KEYS_FILE with that key's line (server-audit-mcp keygen)",
    );
  let labels: Record<string, string>;
  try {
    labels = parseAgentLabels(e.AGENT_LABELS);
  } catch (err) {
    throw new ConfigError(`Invalid AGENT_LABELS: ${(err as Error).message} (expected name=value,name=value)`);
  }
  // Readers drop a registration over MAX_RECORD_BYTES: refuse here rather than register unseen.
  const approx = Buffer.byteLength(JSON.stringify({ name, url: e.AGENT_URL, labels })) + 512;
  if (approx > MAX_RECORD_BYTES)
    throw new ConfigError(
      `Invalid AGENT_LABELS: the registration would be about ${approx} bytes, over the ${MAX_RECORD_BYTES}-byte limit readers accept; use fewer or shorter labels`,
    );
  return { name, url: e.AGENT_URL, labels, heartbeatSeconds: e.AGENT_HEARTBEAT_SECONDS };
}

const MAX_AGENT_KEY_BYTES = 16 * 1024;

/** FLEET_AGENT_KEY_FILE / FLEET_AGENT_KEY: routing to agents registered in Redis. */
function registeredAgentSettings(e: Env): Config['registeredAgents'] {
  if (!e.FLEET_AGENT_KEY_FILE && !e.FLEET_AGENT_KEY) return undefined;
  const name = e.FLEET_AGENT_KEY_FILE ? 'FLEET_AGENT_KEY_FILE' : 'FLEET_AGENT_KEY';
  if (e.FLEET_AGENT_KEY_FILE && e.FLEET_AGENT_KEY)
    throw new ConfigError('Invalid FLEET_AGENT_KEY: set FLEET_AGENT_KEY_FILE or FLEET_AGENT_KEY, not both');
  if (!fleetModeEnv(e))
    throw new ConfigError(
      `Invalid ${name}: registered agents are read from Redis: set REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES)`,
    );
  let key = e.FLEET_AGENT_KEY ?? '';
  if (e.FLEET_AGENT_KEY_FILE) {
    try {
      key = readOperatorFileSync(e.FLEET_AGENT_KEY_FILE, MAX_AGENT_KEY_BYTES).toString('utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `Invalid FLEET_AGENT_KEY_FILE (got "${e.FLEET_AGENT_KEY_FILE}"): cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!key)
      throw new ConfigError(
        `Invalid FLEET_AGENT_KEY_FILE (got "${e.FLEET_AGENT_KEY_FILE}"): the file is empty`,
      );
  }
  const out = { max: e.FLEET_AGENTS_MAX, refreshSeconds: e.FLEET_AGENTS_REFRESH_SECONDS } as {
    key: string;
    max: number;
    refreshSeconds: number;
  };
  Object.defineProperty(out, 'key', { value: key, enumerable: false });
  return out;
}

/** Host names compare as the URL parser prints them (lower case, IPv6 in brackets). */
function normaliseHostName(h: string): string {
  const bare = h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  try {
    return new URL(`http://${bare}`).hostname;
  } catch {
    throw new ConfigError(`Invalid ALLOWED_HOSTS (got "${h}"): each entry must be a host name without port`);
  }
}

function normaliseOrigin(o: string): string {
  try {
    const url = new URL(o);
    if (url.origin === 'null') throw new Error('opaque');
    return url.origin;
  } catch {
    throw new ConfigError(
      `Invalid ALLOWED_ORIGINS (got "${o}"): each entry must be an origin like https://app.example.com`,
    );
  }
}

/** Larger than any real allow-list: not read into memory. */
const MAX_ALLOWLIST_FILE_BYTES = 4 * 1024 * 1024;

/** One entry per line (IP, CIDR or `ua:substring`; `#` comments); any bad entry stops start-up. */
function loadAllowlistFiles(paths: string[]): Allowlist {
  const list = emptyAllowlist();
  for (const path of paths) {
    let text: string;
    try {
      // By handle, regular files only: a FIFO cannot hang start-up (src/host/verifiedFile.ts).
      text = readOperatorFileSync(path, MAX_ALLOWLIST_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw new ConfigError(
        `Invalid BOT_ALLOWLIST_FILES (got "${path}"): cannot read it (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    const { invalid } = parseAllowlist(text.split('\n'), list);
    if (invalid.length > 0) {
      throw new ConfigError(
        `Invalid BOT_ALLOWLIST_FILES (got "${path}"): "${invalid[0]}" is not an IP, a CIDR or ua:<substring of 3+ characters>`,
      );
    }
  }
  return list;
}

/**
 * The per-user data folder (XDG Base Directory): $XDG_DATA_HOME/server-audit-mcp, else
 * ~/.local/share/server-audit-mcp. Never the working directory, which is / under a desktop client.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME?.trim();
  // The spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME?.trim() || homedir(), '.local', 'share');
  return join(base, 'server-audit-mcp');
}

/**
 * Creates DATA_DIR (0700) and proves it writable with a real write, so a wrong folder stops
 * start-up with one line instead of failing the first run_health_check. Skipped in fleet mode,
 * where baselines live in Redis and DATA_DIR is never written.
 */
export function prepareDataDir(config: Config): void {
  if (config.REDIS_URL || config.REDIS_SENTINELS || config.REDIS_CLUSTER_NODES) return;
  const dir = config.DATA_DIR;
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      `Invalid DATA_DIR (got "${dir}"): cannot create or write it (${code}); set DATA_DIR to a folder this user can write`,
    );
  }
}
