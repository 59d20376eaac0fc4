/**
 * A compose document as a small tree of "located" nodes: every value remembers the file, line and
 * column it came from, through anchors, merge keys, `extends` and override files, so a finding
 * can point at the exact offending node. Built from the `yaml` package's AST, not from toJS(),
 * which drops positions.
 */
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  visit,
} from 'yaml';
import { type Env, interpolate } from './interpolate.js';

export interface Loc {
  file: string;
  line: number;
  column: number;
}

/** `!reset` and `!override` are Compose's merge tags (compose-spec "Merge and override"). */
export type MergeTag = 'reset' | 'override';

export interface LScalar {
  kind: 'scalar';
  /** After interpolation (strings); numbers, booleans and null as YAML typed them. */
  value: string | number | boolean | null;
  /** The text as written, before interpolation (strings only). */
  raw: string | null;
  loc: Loc;
  /** A comment on or right above the node: how a risky mount is "documented". */
  comment?: string;
  tag?: MergeTag;
}

export interface LEntry {
  key: string;
  keyLoc: Loc;
  value: LNode;
}

export interface LMap {
  kind: 'map';
  entries: Map<string, LEntry>;
  loc: Loc;
  tag?: MergeTag;
}

export interface LSeq {
  kind: 'seq';
  items: LNode[];
  loc: Loc;
  tag?: MergeTag;
}

export type LNode = LScalar | LMap | LSeq;

export class ComposeError extends Error {
  override name = 'ComposeError';
}

/** Nodes built per document, aliases expanded: bounds "billion laughs" style alias bombs. */
export const MAX_NODES = 200_000;

export interface BuildContext {
  file: string;
  doc: Document;
  lines: LineCounter;
  env: Env;
  /** Interpolation warnings and errors, with where they happened (never the value). */
  notes: string[];
  budget: { nodes: number };
  /** Each alias's target, found in one walk of the document (see aliasTargets); built on first use. */
  aliases?: Map<Alias, Node>;
}

/**
 * What every alias in `doc` refers to: the most recent node before it, in document order, with
 * that anchor (YAML 1.2 §3.2.2.2; what yaml's Alias.resolve finds). One walk for the document:
 * Alias.resolve without a context walks the whole document for each alias, O(aliases x size).
 */
export function aliasTargets(doc: Document): Map<Alias, Node> {
  const latest = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const target = latest.get(node.source);
        if (target) targets.set(node, target);
      } else if (node.anchor) latest.set(node.anchor, node);
    },
  });
  return targets;
}

export function locOf(ctx: BuildContext, node: { range?: [number, number, number] | null } | null): Loc {
  const pos = ctx.lines.linePos(node?.range?.[0] ?? 0);
  return { file: ctx.file, line: pos.line, column: pos.col };
}

function mergeTag(tag: string | undefined): MergeTag | undefined {
  return tag === '!reset' ? 'reset' : tag === '!override' ? 'override' : undefined;
}

function commentOf(node: Node, extra?: string | null): string | undefined {
  const c = [extra, node.commentBefore, node.comment].filter((x): x is string => !!x && x.trim() !== '');
  return c.length > 0 ? c.join('\n') : undefined;
}

/** Converts a YAML node; `comment` carries a comment the parent holds for it (a pair's key). */
export function build(ctx: BuildContext, node: unknown, comment?: string | null, depth = 0): LNode {
  if (++ctx.budget.nodes > MAX_NODES)
    throw new ComposeError(`${ctx.file}: more than ${MAX_NODES} nodes after expanding aliases`);
  if (depth > 200) throw new ComposeError(`${ctx.file}: nesting deeper than 200 levels`);
  if (isAlias(node)) {
    const target = (ctx.aliases ??= aliasTargets(ctx.doc)).get(node);
    if (!target)
      throw new ComposeError(`${ctx.file}:${locStr(locOf(ctx, node))}: unknown alias *${node.source}`);
    return build(ctx, target, comment, depth + 1);
  }
  if (isMap(node)) {
    const m: LMap = { kind: 'map', entries: new Map(), loc: locOf(ctx, node), tag: mergeTag(node.tag) };
    const merged: LMap[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : null;
      if (key === null) continue; // complex keys have no meaning in compose
      if (key === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN') {
        // YAML merge keys: `<<: *anchor` or `<<: [*a, *b]`; earlier sources win, explicit keys win over all.
        const v = isAlias(pair.value) ? [pair.value] : isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const src of v) {
          const built = build(ctx, src, null, depth + 1);
          if (built.kind === 'map') merged.push(built);
        }
        continue;
      }
      m.entries.set(key, {
        key,
        keyLoc: locOf(ctx, keyNode),
        value: pair.value
          ? build(ctx, pair.value, isScalar(keyNode) ? commentOf(keyNode) : null, depth + 1)
          : { kind: 'scalar', value: null, raw: null, loc: locOf(ctx, keyNode) },
      });
    }
    for (const src of merged) for (const [k, e] of src.entries) if (!m.entries.has(k)) m.entries.set(k, e);
    return m;
  }
  if (isSeq(node)) {
    return {
      kind: 'seq',
      // A comment above the first item is the sequence's own commentBefore.
      items: node.items.map((it, i) => build(ctx, it, i === 0 ? node.commentBefore : null, depth + 1)),
      loc: locOf(ctx, node),
      tag: mergeTag(node.tag),
    };
  }
  if (isScalar(node)) {
    const loc = locOf(ctx, node);
    const v = node.value;
    let value: LScalar['value'] =
      typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : String(v);
    let raw: string | null = null;
    if (typeof value === 'string') {
      raw = value;
      const r = interpolate(value, ctx.env);
      value = r.value;
      for (const name of r.unset)
        ctx.notes.push(`${locStr(loc)}: variable ${name} is not set, Compose uses an empty string`);
      for (const e of r.errors) ctx.notes.push(`${locStr(loc)}: ${e} (Compose refuses this file)`);
    }
    return { kind: 'scalar', value, raw, loc, comment: commentOf(node, comment), tag: mergeTag(node.tag) };
  }
  return { kind: 'scalar', value: null, raw: null, loc: { file: ctx.file, line: 1, column: 1 } };
}

export function locStr(l: Loc): string {
  return `${l.file}:${l.line}:${l.column}`;
}

// Small accessors the merge and the rules share.

export function get(node: LNode | undefined, ...path: string[]): LNode | undefined {
  let cur = node;
  for (const k of path) {
    if (cur?.kind !== 'map') return undefined;
    cur = cur.entries.get(k)?.value;
  }
  return cur;
}

export function entry(node: LNode | undefined, key: string): LEntry | undefined {
  return node?.kind === 'map' ? node.entries.get(key) : undefined;
}

/** A scalar as a string ("" for null); undefined for maps, sequences and absent nodes. */
export function str(node: LNode | undefined): string | undefined {
  if (node?.kind !== 'scalar') return undefined;
  return node.value === null ? '' : String(node.value);
}

/** Compose accepts `true` and, after interpolation, the string "true" (any case). */
export function truthy(node: LNode | undefined): boolean {
  const s = str(node);
  return s !== undefined && /^(true|yes|on)$/i.test(s.trim());
}
