/**
 * HOSTS_FILE: the operator's list of audited hosts and their agents (issue 19).
 *
 *   hosts:
 *     - name: web1                          # [a-z0-9-], unique
 *       url: https://web1.internal:3000/mcp # the agent's MCP endpoint
 *       apiKeyFile: /run/secrets/web1.key   # the agent's API key (or apiKeyEnv: NAME)
 *       labels: {role: web, env: prod}
 *
 * Read and validated at start (a ConfigError naming HOSTS_FILE), re-read on change: a bad
 * edit is logged and the previous registry stays in force.
 */
import { type FSWatcher, watch } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../configError.js';
import { readOperatorFileSync } from '../host/verifiedFile.js';

const MAX_HOSTS_BYTES = 1024 * 1024;
const MAX_KEY_BYTES = 16 * 1024;

const hostEntrySchema = z
  .object({
    name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
      error: 'must be 1-63 characters of a-z, 0-9 and "-" (not at either end)',
    }),
    url: z.string().refine(
      (u) => {
        try {
          const p = new URL(u);
          // Credentials in the URL would end up in logs; the key comes from apiKeyFile/apiKeyEnv.
          return (p.protocol === 'http:' || p.protocol === 'https:') && !p.username && !p.password;
        } catch {
          return false;
        }
      },
      { error: 'must be an http:// or https:// URL without user info' },
    ),
    apiKeyFile: z
      .string()
      .refine((p) => p.startsWith('/'), { error: 'must be an absolute path' })
      .optional(),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
      .optional(),
    labels: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, { error: 'label names: 1-63 of A-Z a-z 0-9 _ . -' }),
        z.union([z.string().max(253), z.number(), z.boolean()]).transform(String),
      )
      .default({}),
  })
  .strict()
  .refine((h) => (h.apiKeyFile === undefined) !== (h.apiKeyEnv === undefined), {
    error: 'needs exactly one of apiKeyFile or apiKeyEnv (the agent refuses calls without its key)',
  });

const hostsFileSchema = z
  .object({ hosts: z.array(hostEntrySchema).max(10_000) })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.hosts.forEach((h, i) => {
      if (seen.has(h.name))
        ctx.addIssue({
          code: 'custom',
          path: ['hosts', i, 'name'],
          message: `duplicate host name "${h.name}"`,
        });
      seen.add(h.name);
    });
  });

export interface HostEntry {
  name: string;
  url: string;
  labels: Record<string, string>;
  /** The agent's own credential, read when the registry is loaded; never logged, never returned. */
  apiKey: string;
}

export interface HostRegistryData {
  hosts: HostEntry[];
  /** Which file and when it was read, for list_hosts. */
  loadedAt: string;
}

/**
 * Parses and validates HOSTS_FILE, reading each agent's key. Throws ConfigError with one line
 * naming HOSTS_FILE and the offending entry.
 */
export function loadHostsFile(path: string, env: NodeJS.ProcessEnv = process.env): HostRegistryData {
  const fail = (why: string) => new ConfigError(`Invalid HOSTS_FILE (got "${path}"): ${why}`);
  let text: string;
  try {
    text = readOperatorFileSync(path, MAX_HOSTS_BYTES).toString('utf8');
  } catch (err) {
    throw fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    // Parsed apart from the read: YAML errors carry a `code` too (e.g. MISSING_CHAR).
    raw = parse(text) ?? { hosts: [] };
  } catch (err) {
    throw fail(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = hostsFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw fail(`${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`);
  }
  const hosts = result.data.hosts.map((h, i): HostEntry => {
    let apiKey: string;
    if (h.apiKeyFile) {
      try {
        apiKey = readOperatorFileSync(h.apiKeyFile, MAX_KEY_BYTES).toString('utf8').trim();
      } catch (err) {
        throw fail(
          `hosts.${i}.apiKeyFile: cannot read "${h.apiKeyFile}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    } else apiKey = (env[h.apiKeyEnv as string] ?? '').trim();
    if (!apiKey)
      throw fail(
        `hosts.${i} (${h.name}): the agent's API key is empty (${h.apiKeyFile ? `file ${h.apiKeyFile}` : `variable ${h.apiKeyEnv}`})`,
      );
    return { name: h.name, url: h.url, labels: h.labels, apiKey };
  });
  return { hosts, loadedAt: new Date().toISOString() };
}

export interface RegistryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The registry in force, replaced when HOSTS_FILE changes and the new content is valid.
 * fs.watch on the file's directory (editors replace files by rename, which a watch on the file
 * itself would lose), debounced.
 */
export class HostRegistry {
  private data: HostRegistryData;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(data: HostRegistryData) => void>();

  constructor(
    readonly path: string,
    private readonly log: RegistryLogger,
    private readonly env: NodeJS.ProcessEnv = process.env,
    initial?: HostRegistryData,
  ) {
    this.data = initial ?? loadHostsFile(path, env);
  }

  get hosts(): readonly HostEntry[] {
    return this.data.hosts;
  }

  get loadedAt(): string {
    return this.data.loadedAt;
  }

  find(name: string): HostEntry | undefined {
    return this.data.hosts.find((h) => h.name === name);
  }

  onChange(fn: (data: HostRegistryData) => void): void {
    this.listeners.add(fn);
  }

  /** Re-reads the file; keeps the current registry when the new one is invalid. */
  reload(): boolean {
    try {
      this.data = loadHostsFile(this.path, this.env);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'HOSTS_FILE changed but is invalid; keeping the previous host registry',
      );
      return false;
    }
    this.log.info({ hosts: this.data.hosts.map((h) => h.name) }, 'host registry reloaded');
    for (const fn of this.listeners) fn(this.data);
    return true;
  }

  watch(debounceMs = 200): void {
    if (this.watcher) return;
    const dir = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    const base = this.path.slice(this.path.lastIndexOf('/') + 1);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, file) => {
        if (file !== null && file !== base) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.reload(), debounceMs);
        this.timer.unref();
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch HOSTS_FILE; changes need a restart');
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
