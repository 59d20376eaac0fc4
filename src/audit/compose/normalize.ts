/**
 * Compose accepts several keys as either a list or a map (`environment: [A=1]` or `{A: 1}`,
 * `depends_on: [db]` or `{db: {condition: ...}}`). Merging and the rules want one form, so each
 * service is normalised to maps first, keeping every entry's location.
 */
import type { LEntry, LMap, LNode, LScalar } from './nodes.js';

/** Lists of `KEY=value` (or `KEY` alone: taken from the shell at run time). */
const KV_LISTS = new Set(['environment', 'labels', 'annotations', 'sysctls']);

export function normalizeService(svc: LNode): LNode {
  if (svc.kind !== 'map') return svc;
  const out: LMap = { ...svc, entries: new Map(svc.entries) };
  for (const [key, e] of out.entries) {
    if (KV_LISTS.has(key) && e.value.kind === 'seq')
      out.entries.set(key, { ...e, value: kvListToMap(e.value.items, e.value) });
    else if ((key === 'depends_on' || key === 'networks') && e.value.kind === 'seq')
      out.entries.set(key, { ...e, value: namesToMap(e.value.items, e.value) });
    else if (key === 'build' && e.value.kind === 'map') {
      const args = e.value.entries.get('args');
      if (args?.value.kind === 'seq') {
        const b: LMap = { ...e.value, entries: new Map(e.value.entries) };
        b.entries.set('args', { ...args, value: kvListToMap(args.value.items, args.value) });
        out.entries.set(key, { ...e, value: b });
      }
    }
  }
  return out;
}

function kvListToMap(items: LNode[], seq: LNode): LMap {
  const m: LMap = { kind: 'map', entries: new Map(), loc: seq.loc, tag: seq.tag };
  for (const it of items) {
    if (it.kind !== 'scalar' || it.value === null) continue;
    const text = String(it.value);
    const eq = text.indexOf('=');
    const key = (eq < 0 ? text : text.slice(0, eq)).trim();
    if (key === '') continue;
    const rawEq = it.raw?.indexOf('=') ?? -1;
    const value: LScalar = {
      kind: 'scalar',
      // `KEY` without `=`: no value in the file (Compose takes it from its own environment).
      value: eq < 0 ? null : text.slice(eq + 1),
      raw: it.raw !== null && rawEq >= 0 ? it.raw.slice(rawEq + 1) : null,
      loc: it.loc,
      comment: it.comment,
    };
    m.entries.set(key, { key, keyLoc: it.loc, value });
  }
  return m;
}

function namesToMap(items: LNode[], seq: LNode): LMap {
  const m: LMap = { kind: 'map', entries: new Map(), loc: seq.loc, tag: seq.tag };
  for (const it of items) {
    if (it.kind !== 'scalar' || it.value === null) continue;
    const key = String(it.value);
    // The list form means "no options": an empty map, located at the list item.
    const e: LEntry = { key, keyLoc: it.loc, value: { kind: 'map', entries: new Map(), loc: it.loc } };
    m.entries.set(key, e);
  }
  return m;
}
