/**
 * From compose files to a project: parse each file (keeping locations), resolve `extends` within
 * and across files, merge the files in order (base, then overrides), and select services by
 * profile, as `docker compose -f a -f b --profile p config` would. No I/O here: files come
 * through the caller's loader, which confines and bounds them.
 */
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Env } from './interpolate.js';
import { mergeMaps } from './merge.js';
import { build, ComposeError, type LMap, type Loc, locStr, str } from './nodes.js';
import { normalizeService } from './normalize.js';

export interface SourceFile {
  /** The host path, as shown to the client and used to resolve relative `extends.file`. */
  path: string;
  text: string;
}

/** Reads one file (confined and size-capped by the caller); throws ComposeError to refuse. */
export type Loader = (hostPath: string) => Promise<SourceFile>;

export interface Service {
  name: string;
  node: LMap;
  /** Where the service is declared (its key in the first file that has it). */
  loc: Loc;
}

export interface Project {
  files: string[];
  services: Service[];
  /** Services left out because none of their profiles is active. */
  skipped: Array<{ name: string; reason: string }>;
  /** Top-level `volumes:` (named volumes may be bind mounts of host paths). */
  volumes: LMap | undefined;
  notes: string[];
}

const MAX_EXTENDS_DEPTH = 10;

interface ParsedFile {
  path: string;
  top: LMap;
  services: Map<string, { node: LMap; loc: Loc }>;
}

export class ProjectLoader {
  private readonly cache = new Map<string, Promise<ParsedFile>>();
  readonly notes: string[] = [];

  /**
   * `signal` (the call's cancellation and deadline) is checked before each file is loaded and
   * between services; when it fires, its reason is thrown (not a ComposeError).
   */
  constructor(
    private readonly env: Env,
    private readonly load: Loader,
    private readonly signal?: AbortSignal,
  ) {}

  async project(files: string[], profiles: string[] = []): Promise<Project> {
    let top: LMap | undefined;
    for (const f of files) {
      const parsed = await this.parse(f);
      const services: LMap = { kind: 'map', entries: new Map(), loc: parsed.top.loc };
      for (const name of parsed.services.keys()) {
        this.signal?.throwIfAborted();
        const node = await this.resolveExtends(parsed, name, []);
        const e = parsed.top.entries.get('services')?.value;
        const keyLoc = e?.kind === 'map' ? (e.entries.get(name)?.keyLoc ?? node.loc) : node.loc;
        services.entries.set(name, { key: name, keyLoc, value: node });
      }
      const withServices: LMap = { ...parsed.top, entries: new Map(parsed.top.entries) };
      const se = parsed.top.entries.get('services');
      if (se) withServices.entries.set('services', { ...se, value: services });
      top = top ? mergeMaps(top, withServices) : withServices;
    }
    const out: Project = { files, services: [], skipped: [], volumes: undefined, notes: this.notes };
    if (!top) return out;
    if (top.entries.has('include'))
      this.notes.push(
        `${files[0]}: "include:" is not followed by this audit; pass the included files in paths`,
      );
    const vols = top.entries.get('volumes')?.value;
    out.volumes = vols?.kind === 'map' ? vols : undefined;
    const svcs = top.entries.get('services')?.value;
    if (svcs?.kind !== 'map') {
      this.notes.push(`${files.join(', ')}: no services defined`);
      return out;
    }
    this.signal?.throwIfAborted();
    const all = profiles.includes('*');
    for (const [name, e] of svcs.entries) {
      if (e.value.kind !== 'map') continue;
      const own = e.value.entries.get('profiles')?.value;
      const list = own?.kind === 'seq' ? own.items.map((i) => str(i) ?? '') : [];
      if (list.length > 0 && !all && !list.some((p) => profiles.includes(p))) {
        out.skipped.push({
          name,
          reason: `only in profile(s) ${list.join(', ')}; pass profiles to audit it`,
        });
        continue;
      }
      out.services.push({ name, node: e.value, loc: e.keyLoc });
    }
    return out;
  }

  private parse(path: string): Promise<ParsedFile> {
    let p = this.cache.get(path);
    if (!p) {
      const signal = this.signal;
      p = (async () => {
        signal?.throwIfAborted();
        const src = await this.load(path);
        // Parsing is synchronous and bounded (MAX_NODES): checked once more before it starts.
        signal?.throwIfAborted();
        return this.parseText(src);
      })();
      this.cache.set(path, p);
    }
    return p;
  }

  private parseText(src: SourceFile): ParsedFile {
    const lines = new LineCounter();
    const doc = parseDocument(src.text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const err = doc.errors[0];
    if (err) {
      const pos = lines.linePos(err.pos[0]);
      // Only the message's first line: yaml appends the offending source line, which may hold a secret.
      throw new ComposeError(
        `${src.path}:${pos.line}:${pos.col}: not valid YAML: ${err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    const top = build(
      { file: src.path, doc, lines, env: this.env, notes: this.notes, budget: { nodes: 0 } },
      doc.contents,
    );
    if (top.kind !== 'map')
      throw new ComposeError(`${src.path}: not a compose file (the top level is not a mapping)`);
    const services = new Map<string, { node: LMap; loc: Loc }>();
    const s = top.entries.get('services')?.value;
    if (s && s.kind !== 'map' && !(s.kind === 'scalar' && s.value === null))
      throw new ComposeError(`${locStr(s.loc)}: services must be a mapping`);
    if (s?.kind === 'map')
      for (const [name, e] of s.entries) {
        if (e.value.kind === 'map')
          services.set(name, { node: normalizeService(e.value) as LMap, loc: e.keyLoc });
        else if (!(e.value.kind === 'scalar' && e.value.value === null))
          throw new ComposeError(`${locStr(e.value.loc)}: service ${name} must be a mapping`);
        else services.set(name, { node: { kind: 'map', entries: new Map(), loc: e.keyLoc }, loc: e.keyLoc });
      }
    return { path: src.path, top, services };
  }

  /** The service with its `extends` chain applied (base first, then this service on top). */
  private async resolveExtends(file: ParsedFile, name: string, chain: string[]): Promise<LMap> {
    const here = `${file.path}#${name}`;
    if (chain.includes(here))
      throw new ComposeError(
        `extends loop: ${[...chain, here].map((c) => c.replace('#', ' service ')).join(' -> ')}`,
      );
    if (chain.length > MAX_EXTENDS_DEPTH)
      throw new ComposeError(`${here}: extends deeper than ${MAX_EXTENDS_DEPTH}`);
    const svc = file.services.get(name);
    if (!svc) throw new ComposeError(`${file.path}: no service ${name} (named by extends)`);
    const ext = svc.node.entries.get('extends');
    if (!ext) return svc.node;
    const v = ext.value;
    const baseName = v.kind === 'map' ? str(v.entries.get('service')?.value) : str(v);
    const baseFile = v.kind === 'map' ? str(v.entries.get('file')?.value) : undefined;
    if (!baseName) throw new ComposeError(`${locStr(ext.keyLoc)}: extends needs a service name`);
    // `file:` is relative to the file that holds the extends; the loader confines it like any path.
    const target = baseFile ? await this.parse(resolve(dirname(file.path), baseFile)) : file;
    const base = await this.resolveExtends(target, baseName, [...chain, here]);
    const own: LMap = { ...svc.node, entries: new Map(svc.node.entries) };
    own.entries.delete('extends');
    return mergeMaps(base, own);
  }
}
