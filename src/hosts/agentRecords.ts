/**
 * Self-registered agents (issue 19, fleet mode): what an agent writes to Redis, how a serving
 * instance reads it back (as untrusted input) and how it merges with HOSTS_FILE. Pure: no Redis,
 * no I/O, so every rule is unit-tested (tests/unit/agentRecords.test.ts).
 *
 * Keys, one hash tag so they share a Redis Cluster slot (pipelines and MULTI work):
 *   <REDIS_PREFIX>{agents}:a:<name>   the registration (JSON below), with a TTL of 3 heartbeats
 *   <REDIS_PREFIX>{agents}:index      sorted set name -> expiry (ms), to list names without SCAN
 * A registration never holds a credential: serving instances call every registered agent with
 * the fleet's agent key they hold themselves (FLEET_AGENT_KEY_FILE / FLEET_AGENT_KEY).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { HostEntry } from './registry.js';

/** Host names: as in HOSTS_FILE. */
export const HOST_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const LABEL_NAME_RE = /^[A-Za-z0-9_.-]{1,63}$/;
export const MAX_LABELS = 32;
/** A registration larger than this is not read (GETRANGE stops here) and is ignored. */
export const MAX_RECORD_BYTES = 8 * 1024;
/** TTL of a registration, in heartbeats: two may be missed before the agent disappears. */
export const TTL_HEARTBEATS = 3;

export const agentKeys = (prefix: string) => ({
  record: (name: string) => `${prefix}{agents}:a:${name}`,
  index: () => `${prefix}{agents}:index`,
});

/** A Kubernetes node name (an RFC 1123 subdomain: dots allowed, at most 253 characters). */
export const NODE_NAME_RE = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/i;

/**
 * The agent name for a node name (AGENT_NODE_NAME): lower-cased, every run of characters other
 * than a-z, 0-9 and "-" (the dots) made one "-", "-" trimmed at the ends. A node name that fits
 * stays as it is; one longer than 63 keeps its first 54 characters and gets "-" and 8 hex of its
 * SHA-256, so two long names that share a beginning stay apart. ("a.b" and "a-b" would meet:
 * give such nodes AGENT_NAME yourself.)
 */
export function agentNameFromNode(node: string): string {
  const name = node
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(node.toLowerCase()).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/**
 * An http(s) URL without user info, query or fragment: a registration is shared through Redis and
 * shown by list_hosts, so nothing in it may be a credential (a `?token=` included).
 */
export function isAgentUrl(u: string): boolean {
  try {
    const p = new URL(u);
    return (
      (p.protocol === 'http:' || p.protocol === 'https:') &&
      !p.username &&
      !p.password &&
      !p.search &&
      !p.hash &&
      !u.includes('?') &&
      !u.includes('#')
    );
  } catch {
    return false;
  }
}

const labelsSchema = z
  .record(z.string().regex(LABEL_NAME_RE), z.string().max(253))
  .refine((l) => Object.keys(l).length <= MAX_LABELS, { error: `at most ${MAX_LABELS} labels` });

/** The JSON value of a registration key. Anything else found there is ignored. */
export const registrationSchema = z
  .object({
    v: z.literal(1),
    name: z.string().regex(HOST_NAME_RE),
    url: z.string().max(2048).refine(isAgentUrl),
    labels: labelsSchema,
    version: z.string().max(64),
    startedAt: z.iso.datetime(),
    heartbeatAt: z.iso.datetime(),
    heartbeatSeconds: z.number().int().min(1).max(300),
    /** Random per agent process: a stopping agent deletes only its own registration. */
    instance: z.string().regex(/^[a-f0-9]{8,64}$/),
  })
  .strict();

export type Registration = z.infer<typeof registrationSchema>;

/**
 * AGENT_LABELS: `k=v,k2=v2`. Throws an Error with a one-line reason (config wraps it in a
 * ConfigError naming the setting).
 */
export function parseAgentLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`"${item.slice(0, 40)}" is not name=value`);
    const k = item.slice(0, eq).trim();
    const v = item.slice(eq + 1).trim();
    if (!LABEL_NAME_RE.test(k)) throw new Error(`label name "${k.slice(0, 40)}": 1-63 of A-Z a-z 0-9 _ . -`);
    if (v.length > 253) throw new Error(`label ${k}: value longer than 253 characters`);
    if (k in labels) throw new Error(`label ${k} given twice`);
    labels[k] = v;
  }
  if (Object.keys(labels).length > MAX_LABELS) throw new Error(`at most ${MAX_LABELS} labels`);
  return labels;
}

export type ParsedRecord = { ok: true; record: Registration } | { ok: false; why: string };

/**
 * One value read from `<prefix>{agents}:a:<name>`, validated: size, JSON, schema, and the name
 * inside must be the name in the key (a record copied under another name is refused).
 */
export function parseRegistration(name: string, raw: string | null | undefined): ParsedRecord {
  if (raw === null || raw === undefined || raw === '') return { ok: false, why: 'expired' };
  if (Buffer.byteLength(raw) >= MAX_RECORD_BYTES)
    return { ok: false, why: `larger than ${MAX_RECORD_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  const r = registrationSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, why: `${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}` };
  }
  if (r.data.name !== name) return { ok: false, why: `holds the name "${r.data.name}"` };
  return { ok: true, record: r.data };
}

/** A host as the registry hands it out: where it came from, and its last heartbeat if registered. */
export interface SourcedHost extends HostEntry {
  source: 'file' | 'registered';
  /** The agent's last heartbeat (registered hosts only). */
  lastHeartbeat: string | null;
}

/**
 * HOSTS_FILE entries first, in file order, then registered agents by name. A HOSTS_FILE entry
 * wins on a name clash (the operator's own list is authoritative): the registration is left
 * out and its name reported in `shadowed`.
 */
export function mergeHosts(
  file: readonly HostEntry[],
  registered: readonly Registration[],
  agentKey: string,
): { hosts: SourcedHost[]; shadowed: string[] } {
  const hosts: SourcedHost[] = file.map((h) => ({ ...h, source: 'file', lastHeartbeat: null }));
  const taken = new Set(file.map((h) => h.name));
  const shadowed: string[] = [];
  for (const r of [...registered].sort((a, b) => a.name.localeCompare(b.name))) {
    if (taken.has(r.name)) {
      shadowed.push(r.name);
      continue;
    }
    taken.add(r.name);
    hosts.push({
      name: r.name,
      url: r.url,
      labels: r.labels,
      apiKey: agentKey,
      source: 'registered',
      lastHeartbeat: r.heartbeatAt,
    });
  }
  return { hosts, shadowed };
}
