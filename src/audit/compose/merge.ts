/**
 * Compose's merge rules (compose-spec "Merge and override"), used for override files and for
 * `extends`: mappings merge key by key, most sequences append, a few replace (commands), and
 * some merge by a unique key (a volume by its target, a port by its binding). `!reset` removes a
 * value, `!override` replaces it whole.
 */
import type { LMap, LNode, LSeq } from './nodes.js';

/** Sequences that are one value (a command line): the later file's wins. */
const REPLACED = new Set(['command', 'entrypoint', 'test', 'dns', 'dns_search', 'dns_opt', 'tmpfs']);
/** Sequences merged by a unique key, the later entry replacing an earlier one with the same key. */
const UNIQUE: Record<string, (n: LNode) => string> = {
  volumes: (n) => volumeTarget(n) ?? JSON.stringify(plain(n)),
  ports: (n) => JSON.stringify(plain(n)),
  secrets: (n) => (n.kind === 'map' ? String(plain(n.entries.get('source')?.value)) : String(plain(n))),
  configs: (n) => (n.kind === 'map' ? String(plain(n.entries.get('source')?.value)) : String(plain(n))),
  devices: (n) => JSON.stringify(plain(n)),
};

export function mergeNode(base: LNode, over: LNode, key: string): LNode {
  if (over.tag === 'override') return over;
  if (base.kind === 'map' && over.kind === 'map') return mergeMaps(base, over);
  if (base.kind === 'seq' && over.kind === 'seq') {
    if (REPLACED.has(key)) return over;
    let n = 0;
    // Scalars append without duplicates (cap_add, security_opt); other items always append.
    const keyOf =
      UNIQUE[key] ?? ((it: LNode) => (it.kind === 'scalar' ? `s:${String(it.value)}` : `u:${n++}`));
    const items = new Map<string, LNode>();
    for (const it of [...base.items, ...over.items]) {
      const k = keyOf(it);
      items.delete(k); // keep the later entry, in the later position
      items.set(k, it);
    }
    const out: LSeq = { kind: 'seq', items: [...items.values()], loc: base.loc };
    return out;
  }
  return over;
}

export function mergeMaps(base: LMap, over: LMap): LMap {
  const out: LMap = { kind: 'map', entries: new Map(base.entries), loc: base.loc };
  for (const [k, e] of over.entries) {
    if (e.value.tag === 'reset') {
      out.entries.delete(k);
      continue;
    }
    const prev = out.entries.get(k);
    // The key keeps its first location (where the thing was introduced); the value is merged.
    out.entries.set(k, prev ? { ...prev, value: mergeNode(prev.value, e.value, k) } : e);
  }
  return out;
}

/** A plain JS value, for keys and comparisons only (never for output: it may hold secrets). */
export function plain(n: LNode | undefined): unknown {
  if (!n) return undefined;
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'seq') return n.items.map(plain);
  return Object.fromEntries([...n.entries].map(([k, e]) => [k, plain(e.value)]));
}

/** The container path of a volume entry, short (`src:dst[:mode]`) or long (`target:`) syntax. */
export function volumeTarget(n: LNode): string | undefined {
  if (n.kind === 'map') {
    const t = n.entries.get('target')?.value;
    return t?.kind === 'scalar' && t.value !== null ? String(t.value) : undefined;
  }
  if (n.kind !== 'scalar' || n.value === null) return undefined;
  const parts = String(n.value).split(':');
  return parts.length === 1 ? parts[0] : parts[1];
}
