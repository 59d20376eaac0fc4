import { createHash, randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { SEVERITIES } from '../audit/findings.js';
import {
  BaselineQuotaError,
  chooseEvictions,
  type IndexedBaseline,
  quotaMessage,
  type Saver,
  SYSTEM_SAVER,
} from './retention.js';
import { ToolError } from '../tools/types.js';
import { type Baseline, type BaselineStore, type BaselineSummary, summarize } from './types.js';

/**
 * Baselines as JSON files: `<dir>/baselines/<host dir>/<id>.json`, one file per baseline.
 *
 * Id: `<host dir>~<yyyyMMddTHHmmssSSSZ of createdAt>~<6 random hex>`. It carries its host directory,
 * so get() finds the file without an index; the fixed-width UTC stamp makes ids of one host sort
 * by time as plain strings; it holds no '/' so it can sit in audit://baselines/{id}.
 *
 * Writes are atomic (temp file in the same directory, fsync, rename, fsync the directory), so a
 * reader sees a whole file or none. Temp names start with '.', which no id does, so listings
 * never mistake one for a baseline; leftovers from a crash are removed by the host's next save.
 *
 * Saves of one host are serialised in this process (id uniqueness and pruning see a consistent
 * index). Other processes may write the same directory: every read re-lists the directory (cheap)
 * and parses only files it has not seen, and pruning tolerates files vanishing under it.
 */

/** The subset of node:fs/promises used, injectable so tests can make a step fail. */
export type BaselineFs = Pick<
  typeof nodeFs,
  'mkdir' | 'readdir' | 'readFile' | 'stat' | 'open' | 'rename' | 'unlink'
>;

export interface FileBaselineStoreOptions {
  /** DATA_DIR; baselines go in its `baselines/` subdirectory. */
  dir: string;
  /** Per host, at most this many files (BASELINE_MAX_COUNT). */
  maxCount?: number;
  /** Per host, at most this many bytes of files (BASELINE_MAX_BYTES). */
  maxBytes?: number;
  /** Per host, per principal without audit:admin (BASELINE_MAX_PER_PRINCIPAL). */
  maxPerPrincipal?: number;
  /** Called for corrupt files and failed pruning, which never fail a call. */
  warn?: (message: string) => void;
  fs?: BaselineFs;
}

const HOST_DIR = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}';
const HOST_DIR_RE = new RegExp(`^${HOST_DIR}$`);
const ID_RE = new RegExp(`^(${HOST_DIR})~(\\d{8}T\\d{9}Z)~([0-9a-f]{6})$`);
/** Baseline ids: `<host dir>~<UTC stamp>~<6 hex>`, URL-safe and sortable by time per host (shared with the Redis store). */
export const BASELINE_ID_RE = ID_RE;
export function newBaselineId(hostId: string, createdAt: string): string {
  return `${hostDirName(hostId)}~${stamp(createdAt)}~${randomBytes(3).toString('hex')}`;
}
const FILE_RE = new RegExp(`^(${HOST_DIR}~\\d{8}T\\d{9}Z~[0-9a-f]{6})\\.json$`);
/** `.<id>.json.<pid>.<random>.tmp` */
const TMP_RE = /^\..*\.(\d+)\.[0-9a-f]+\.tmp$/;
/** Another process's temp file younger than this may still be renamed by it. */
const STALE_TMP_MS = 60_000;
/** A larger file is not something we wrote: refuse to read it into memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const IO_CONCURRENCY = 16;

/** Temp files being written by any store in this process (shared, so one store never deletes another's). */
const inFlight = new Set<string>();

const findingSchema = z.object({
  id: z.string().min(1).max(500),
  severity: z.enum(SEVERITIES),
  title: z.string().max(2000),
});
const bodySchema = z.object({
  hostId: z.string().min(1).max(500),
  createdAt: z.iso.datetime({ offset: true }),
  label: z.string().max(1000).optional(),
  createdBy: z.string().min(1).max(600).optional(),
  status: z.enum(['ok', 'warning', 'critical']),
  score: z.number(),
  metrics: z.record(z.string(), z.number()),
  findings: z.array(findingSchema),
});
const recordSchema = bodySchema.extend({ id: z.string().regex(ID_RE) });

interface Entry {
  /** File size in bytes; -1 until stat'ed or read. */
  size: number;
  /** Insertion order: a listing started before this entry was added must not drop it. */
  seq: number;
  record?: Baseline;
  corrupt?: boolean;
  /** Who saved it, once known without keeping the record; null: unknown (no owner recorded, unreadable). */
  owner?: string | null;
}

interface HostIndex {
  dir: string;
  entries: Map<string, Entry>;
  /** Ids newest first; undefined after a change. */
  sorted?: string[];
  /** Tail of this host's save queue. */
  lock: Promise<unknown>;
}

/** Directory name for a host: the id itself when already safe, else a sanitised name plus a hash so two ids never share a directory. */
export function hostDirName(hostId: string): string {
  if (HOST_DIR_RE.test(hostId)) return hostId;
  const cleaned = hostId
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\./, '_')
    .slice(0, 60);
  return `${cleaned || '_'}_${createHash('sha256').update(hostId).digest('hex').slice(0, 8)}`;
}

/** `2026-11-23T12:00:00.000Z` -> `20261123T120000000Z`; years outside 0000-9999 have no fixed-width form. */
function stamp(createdAt: string): string {
  const d = new Date(createdAt);
  const iso = Number.isNaN(d.getTime()) ? '' : d.toISOString();
  if (!/^\d{4}-/.test(iso))
    throw new TypeError(`createdAt ${createdAt} is not a date between years 0 and 9999`);
  return iso.replace(/[-:.]/g, '');
}

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** Failures the operator fixes through DATA_DIR (another folder, its permissions, disk space). */
const SETTING_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR']);

/** A caller-facing ToolError naming DATA_DIR for those; anything else stays an internal error. */
function asSettingError(e: unknown, root: string, doing: string): unknown {
  const code = errCode(e);
  if (code === undefined || !SETTING_ERRORS.has(code)) return e;
  const fix =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'free space there or set DATA_DIR to another folder'
      : 'set DATA_DIR to a folder the server user can write (or fix its permissions)';
  return new ToolError(
    `Cannot ${doing}: ${code} under DATA_DIR (${dirname(root)}); ${fix}, then restart the server. A health check can run without saving: saveBaseline: false.`,
  );
}

function deepFreeze(b: Baseline): Baseline {
  Object.freeze(b.metrics);
  for (const f of b.findings) Object.freeze(f);
  Object.freeze(b.findings);
  return Object.freeze(b);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class FileBaselineStore implements BaselineStore {
  private readonly root: string;
  private readonly maxCount: number;
  private readonly maxBytes: number;
  private readonly maxPerPrincipal: number;
  private readonly fs: BaselineFs;
  private readonly warn: (message: string) => void;
  private readonly hosts = new Map<string, HostIndex>();
  private readonly corrupt = new Set<string>();
  private seq = 0;
  private closed = false;

  constructor(opts: FileBaselineStoreOptions) {
    this.root = resolve(opts.dir, 'baselines');
    this.maxCount = opts.maxCount ?? 1000;
    this.maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
    this.maxPerPrincipal = opts.maxPerPrincipal ?? 100;
    this.fs = opts.fs ?? nodeFs;
    this.warn = opts.warn ?? (() => {});
  }

  /** Corrupt files seen (each counted once), and what the cache holds. */
  stats(): { corruptFiles: number; hosts: number; cachedRecords: number } {
    let cachedRecords = 0;
    for (const h of this.hosts.values()) for (const e of h.entries.values()) if (e.record) cachedRecords++;
    return { corruptFiles: this.corrupt.size, hosts: this.hosts.size, cachedRecords };
  }

  async save(input: Omit<Baseline, 'id' | 'createdBy'>, saver?: Saver): Promise<Baseline> {
    const by = saver ?? SYSTEM_SAVER;
    if (this.closed) throw new Error('baseline store is closed');
    // JSON cannot hold NaN or Infinity (they would come back as null and fail validation): drop them.
    const metrics = Object.fromEntries(
      Object.entries(input.metrics ?? {}).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)),
    );
    // Without a saver (the store's own callers) the record has no owner: only admins prune it.
    const body = bodySchema.parse({ ...input, metrics, ...(saver ? { createdBy: saver.createdBy } : {}) });
    const ts = stamp(body.createdAt);
    const hostDir = hostDirName(body.hostId);
    const host = this.host(hostDir);
    const run = host.lock
      .then(() => this.saveLocked(host, hostDir, ts, body, by))
      .catch((e: unknown) => {
        throw asSettingError(e, this.root, 'save the baseline');
      });
    host.lock = run.catch(() => undefined);
    return run;
  }

  async get(id: string): Promise<Baseline | undefined> {
    const m = typeof id === 'string' ? ID_RE.exec(id) : null;
    if (!m) return undefined;
    const hostDir = m[1] as string;
    const host = this.hosts.get(hostDir);
    const known = host?.entries.get(id);
    if (known) return (await this.load(host as HostIndex, id, known)) ?? undefined;
    // Not indexed (written by another process, or never existed): read it without creating an
    // index, so probing made-up ids costs no memory.
    const entry: Entry = { size: -1, seq: ++this.seq };
    const probe: HostIndex = host ?? {
      dir: join(this.root, hostDir),
      entries: new Map(),
      lock: Promise.resolve(),
    };
    const record = await this.load(probe, id, entry, true);
    if (record === null) return undefined;
    if (host) {
      host.entries.set(id, entry);
      host.sorted = undefined;
    }
    return record;
  }

  async list(opts: { hostId?: string; limit?: number } = {}): Promise<BaselineSummary[]> {
    const limit = opts.limit ?? Infinity;
    if (limit <= 0) return [];
    let dirs: string[];
    if (opts.hostId !== undefined) dirs = [hostDirName(opts.hostId)];
    else {
      try {
        dirs = (await this.fs.readdir(this.root, { withFileTypes: true }))
          .filter((d) => d.isDirectory() && HOST_DIR_RE.test(d.name))
          .map((d) => d.name);
      } catch (e) {
        if (errCode(e) === 'ENOENT') return [];
        throw e;
      }
    }
    const candidates: Array<{ host: HostIndex; id: string }> = [];
    for (const dir of dirs) {
      const host = await this.refresh(dir);
      for (const id of this.sortedIds(host)) candidates.push({ host, id });
    }
    // Newest first across hosts: by the id's UTC stamp (createdAt to the ms), then the id.
    const key = (id: string) => id.slice(id.indexOf('~') + 1);
    candidates.sort((a, b) =>
      key(a.id) < key(b.id) ? 1 : key(a.id) > key(b.id) ? -1 : a.id < b.id ? 1 : -1,
    );
    const records = await this.collect(candidates, limit, opts.hostId);
    return records.map(summarize);
  }

  async recent(hostId: string, n: number): Promise<Baseline[]> {
    if (!(n > 0)) return [];
    const host = await this.refresh(hostDirName(hostId));
    return this.collect(
      this.sortedIds(host).map((id) => ({ host, id })),
      n,
      hostId,
    );
  }

  async delete(id: string): Promise<boolean> {
    if (this.closed) throw new Error('baseline store is closed');
    const m = typeof id === 'string' ? ID_RE.exec(id) : null;
    if (!m) return false;
    const host = this.host(m[1] as string);
    // Under the host's lock, so a concurrent save's pruning does not race this unlink.
    const run = host.lock.then(async () => {
      try {
        await this.fs.unlink(join(host.dir, `${id}.json`));
      } catch (e) {
        if (errCode(e) === 'ENOENT') return false;
        throw e;
      } finally {
        host.entries.delete(id);
        host.sorted = undefined;
      }
      await fsyncDir(this.fs, host.dir);
      return true;
    });
    host.lock = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.hosts.values()].map((h) => h.lock));
    this.hosts.clear();
  }

  // --- internals ---

  private host(hostDir: string): HostIndex {
    let h = this.hosts.get(hostDir);
    if (!h) {
      h = { dir: join(this.root, hostDir), entries: new Map(), lock: Promise.resolve() };
      this.hosts.set(hostDir, h);
    }
    return h;
  }

  private sortedIds(host: HostIndex): string[] {
    host.sorted ??= [...host.entries.keys()].sort().reverse();
    return host.sorted;
  }

  /** Loads candidates in order (in parallel batches) until `limit` valid records of the host are found. */
  private async collect(
    candidates: Array<{ host: HostIndex; id: string }>,
    limit: number,
    hostId: string | undefined,
  ): Promise<Baseline[]> {
    const out: Baseline[] = [];
    let i = 0;
    while (out.length < limit && i < candidates.length) {
      const batch = candidates.slice(i, i + Math.max(IO_CONCURRENCY, Math.min(limit - out.length, 1024)));
      i += batch.length;
      const records = await mapLimit(batch, IO_CONCURRENCY, async ({ host, id }) => {
        const entry = host.entries.get(id);
        return entry ? this.load(host, id, entry) : null;
      });
      for (const r of records) {
        // A sanitised directory name could in theory be shared by two host ids: trust the record.
        if (r && (hostId === undefined || r.hostId === hostId) && out.length < limit) out.push(r);
      }
    }
    return out;
  }

  private async refresh(hostDir: string): Promise<HostIndex> {
    return (await this.scan(hostDir)).host;
  }

  /**
   * Re-lists a host directory: indexes files not seen yet (written by another process; parsed
   * only when asked for), drops entries whose files are gone (pruned elsewhere), and returns the
   * temp-file names seen. One readdir: cheap next to parsing.
   */
  private async scan(hostDir: string): Promise<{ host: HostIndex; temps: string[] }> {
    const host = this.host(hostDir);
    const startSeq = this.seq;
    let names: string[];
    try {
      names = await this.fs.readdir(host.dir);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
      names = [];
    }
    const seen = new Set<string>();
    const temps: string[] = [];
    let changed = false;
    for (const name of names) {
      const m = FILE_RE.exec(name);
      if (m) {
        const id = m[1] as string;
        seen.add(id);
        if (!host.entries.has(id)) {
          host.entries.set(id, { size: -1, seq: ++this.seq });
          changed = true;
        }
      } else if (TMP_RE.test(name)) temps.push(name);
    }
    for (const [id, e] of host.entries) {
      if (!seen.has(id) && e.seq <= startSeq) {
        host.entries.delete(id);
        changed = true;
      }
    }
    if (changed) host.sorted = undefined;
    return { host, temps };
  }

  /** The parsed record, or null when the file is corrupt or gone (a gone file leaves the index). */
  private async load(host: HostIndex, id: string, entry: Entry, probe = false): Promise<Baseline | null> {
    if (entry.record) return entry.record;
    if (entry.corrupt) return null;
    const path = join(host.dir, `${id}.json`);
    // Belt and braces: ID_RE already rules out separators and '..' as a whole segment.
    if (!path.startsWith(this.root + sep)) return null;
    let text: string;
    try {
      const st = await this.fs.stat(path);
      entry.size = st.size;
      if (!st.isFile() || st.size > MAX_FILE_BYTES)
        return this.markCorrupt(entry, path, 'not a regular file or too large');
      text = await this.fs.readFile(path, 'utf8');
    } catch (e) {
      if (errCode(e) === 'ENOENT') {
        if (!probe && host.entries.delete(id)) host.sorted = undefined;
        return null;
      }
      throw e;
    }
    let parsed: z.infer<typeof recordSchema>;
    try {
      parsed = recordSchema.parse(JSON.parse(text));
    } catch (e) {
      return this.markCorrupt(entry, path, e instanceof SyntaxError ? 'invalid JSON' : 'unexpected shape');
    }
    // A file renamed or copied into the wrong place would otherwise answer for another id.
    if (parsed.id !== id || hostDirName(parsed.hostId) !== id.slice(0, id.indexOf('~'))) {
      return this.markCorrupt(entry, path, 'id does not match its file name');
    }
    entry.record = deepFreeze(toBaseline(parsed));
    return entry.record;
  }

  private markCorrupt(entry: Entry, path: string, why: string): null {
    entry.corrupt = true;
    if (!this.corrupt.has(path)) {
      this.corrupt.add(path);
      this.warn(`skipping corrupt baseline file ${path}: ${why}`);
    }
    return null;
  }

  private async saveLocked(
    host: HostIndex,
    hostDir: string,
    ts: string,
    body: z.infer<typeof bodySchema>,
    by: Saver,
  ): Promise<Baseline> {
    const created = await this.fs.mkdir(host.dir, { recursive: true, mode: 0o700 });
    // A new directory entry is only durable once its parent is synced.
    if (created !== undefined)
      await Promise.all([fsyncDir(this.fs, this.root), fsyncDir(this.fs, resolve(this.root, '..'))]);
    let id: string;
    do id = `${hostDir}~${ts}~${randomBytes(3).toString('hex')}`;
    while (host.entries.has(id));
    const record = toBaseline({ id, ...body });
    const text = JSON.stringify(record);
    await this.writeAtomic(host.dir, `${id}.json`, text);
    host.entries.set(id, {
      size: Buffer.byteLength(text),
      seq: ++this.seq,
      record: deepFreeze(record),
      owner: body.createdBy ?? null,
    });
    host.sorted = undefined;
    let refused = false;
    try {
      refused = await this.prune(hostDir, id, by);
    } catch (e) {
      this.warn(`pruning baselines in ${host.dir} failed: ${(e as Error).message}`);
    }
    if (refused) {
      // Making room would prune others' history, which this principal may not cause: keep nothing.
      await this.fs.unlink(join(host.dir, `${id}.json`)).catch(() => undefined);
      host.entries.delete(id);
      host.sorted = undefined;
      await fsyncDir(this.fs, host.dir).catch(() => undefined);
      throw new BaselineQuotaError(
        quotaMessage({
          maxCount: this.maxCount,
          maxBytes: this.maxBytes,
          maxPerPrincipal: this.maxPerPrincipal,
        }),
      );
    }
    return record;
  }

  private async writeAtomic(dir: string, name: string, text: string): Promise<void> {
    const tmpName = `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const tmp = join(dir, tmpName);
    inFlight.add(tmp);
    try {
      const fh = await this.fs.open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.fs.rename(tmp, join(dir, name));
      await fsyncDir(this.fs, dir);
    } catch (e) {
      await this.fs.unlink(tmp).catch(() => undefined);
      throw e;
    } finally {
      inFlight.delete(tmp);
    }
  }

  /**
   * Removes crash leftovers, then what retention chooses (src/baselines/retention.ts) for a save
   * by `by`. True when the save itself must be refused (the caller removes it).
   */
  private async prune(hostDir: string, keepId: string, by: Saver): Promise<boolean> {
    const { host, temps } = await this.scan(hostDir);
    await mapLimit(temps, IO_CONCURRENCY, async (name) => {
      const path = join(host.dir, name);
      if (inFlight.has(path)) return;
      // Ours (this pid, not in flight) is a leftover of a failed write; another pid's may still be
      // in progress unless it is old.
      const pid = Number(TMP_RE.exec(name)?.[1]);
      if (pid !== process.pid) {
        const st = await this.fs.stat(path).catch(() => undefined);
        if (!st || Date.now() - st.mtimeMs < STALE_TMP_MS) return;
      }
      await this.fs.unlink(path).catch(() => undefined);
    });
    const ids = [...this.sortedIds(host)].reverse(); // oldest first
    await mapLimit(
      ids.filter((id) => (host.entries.get(id)?.size ?? 0) < 0),
      IO_CONCURRENCY,
      async (id) => {
        const entry = host.entries.get(id) as Entry;
        try {
          entry.size = (await this.fs.stat(join(host.dir, `${id}.json`))).size;
        } catch (e) {
          if (errCode(e) !== 'ENOENT') throw e;
          host.entries.delete(id);
          host.sorted = undefined;
        }
      },
    );
    if (!by.admin) await this.learnOwners(host);
    const indexed: IndexedBaseline[] = [];
    for (const id of ids) {
      const entry = host.entries.get(id);
      if (entry)
        indexed.push({
          id,
          size: entry.size,
          createdBy: entry.owner ?? entry.record?.createdBy ?? undefined,
        });
    }
    if (!indexed.some((e) => e.id === keepId))
      indexed.push({ id: keepId, size: host.entries.get(keepId)?.size ?? 0, createdBy: by.createdBy });
    const { drop, refused } = chooseEvictions(indexed, keepId, by, {
      maxCount: this.maxCount,
      maxBytes: this.maxBytes,
      maxPerPrincipal: this.maxPerPrincipal,
    });
    for (const id of drop) {
      try {
        await this.fs.unlink(join(host.dir, `${id}.json`));
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e; // already pruned by another process: fine
      }
      host.entries.delete(id);
      host.sorted = undefined;
    }
    return refused;
  }

  /**
   * Fills in the owner of every indexed baseline not known yet (written by another process, or
   * before a restart), reading each such file once; the record itself is not kept.
   */
  private async learnOwners(host: HostIndex): Promise<void> {
    const unknown = [...host.entries].filter(([, e]) => e.owner === undefined && !e.record);
    await mapLimit(unknown, IO_CONCURRENCY, async ([id, entry]) => {
      if (entry.corrupt || entry.size > MAX_FILE_BYTES) {
        entry.owner = null;
        return;
      }
      try {
        const text = await this.fs.readFile(join(host.dir, `${id}.json`), 'utf8');
        const owner = (JSON.parse(text) as { createdBy?: unknown }).createdBy;
        entry.owner = typeof owner === 'string' ? owner : null;
      } catch {
        entry.owner = null; // unreadable or gone: treated as someone else's
      }
    });
  }
}

/** Fixed key order (id first) and no `label: undefined`. */
function toBaseline(r: z.infer<typeof recordSchema>): Baseline {
  const b: Baseline = {
    id: r.id,
    hostId: r.hostId,
    createdAt: r.createdAt,
    status: r.status,
    score: r.score,
    metrics: r.metrics,
    findings: r.findings,
  };
  if (r.label !== undefined) b.label = r.label;
  if (r.createdBy !== undefined) b.createdBy = r.createdBy;
  return b;
}

/** Makes renames and new entries in `dir` durable. Some filesystems cannot fsync a directory: that is not an error. */
async function fsyncDir(fs: BaselineFs, dir: string): Promise<void> {
  let fh: nodeFs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP'].includes(errCode(e) ?? '')) throw e;
  } finally {
    await fh?.close();
  }
}
