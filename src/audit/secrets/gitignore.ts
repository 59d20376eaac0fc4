/**
 * The common subset of .gitignore (gitignore(5)): `#` comments, `\` escapes, `!` negation,
 * trailing `/` for directories only, patterns with a slash anchored to the file's directory and
 * patterns without one matching a name at any depth, `*`, `?`, `[...]` and `**`. The same
 * matcher serves the tool's include/exclude globs.
 *
 * Matching is done segment by segment with an iterative wildcard matcher (no regular
 * expressions built from file contents): a hostile .gitignore in a scanned tree cannot make
 * it backtrack exponentially.
 */

export interface IgnoreRule {
  segments: string[];
  negate: boolean;
  dirOnly: boolean;
  /** Has a slash before its end: matched against the whole relative path, not only the name. */
  anchored: boolean;
}

const MAX_PATTERN = 1024;

/** Parses one .gitignore file's text into rules, in file order. */
export function parseGitignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const rawLine of text.split('\n')) {
    const rule = parsePattern(rawLine.replace(/\r$/, ''));
    if (rule) rules.push(rule);
  }
  return rules;
}

export function parsePattern(line: string): IgnoreRule | undefined {
  let p = line;
  if (p === '' || p.startsWith('#') || p.length > MAX_PATTERN) return undefined;
  // Trailing spaces are dropped unless escaped with a backslash.
  p = p.replace(/(?<!\\)\s+$/, '');
  let negate = false;
  if (p.startsWith('!')) {
    negate = true;
    p = p.slice(1);
  } else if (p.startsWith('\\!') || p.startsWith('\\#')) p = p.slice(1);
  let dirOnly = false;
  if (p.endsWith('/')) {
    dirOnly = true;
    p = p.replace(/\/+$/, '');
  }
  if (p === '') return undefined;
  const anchored = p.includes('/');
  const segments = p
    .replace(/^\//, '')
    .split('/')
    .filter((s) => s !== '');
  if (segments.length === 0) return undefined;
  return { segments, negate, dirOnly, anchored };
}

/** Does `rule` match the path `rel` (relative to the .gitignore's directory, `/`-separated)? */
export function ruleMatches(rule: IgnoreRule, rel: string, isDir: boolean): boolean {
  if (rule.dirOnly && !isDir) return false;
  const parts = rel.split('/');
  if (!rule.anchored)
    return rule.segments.length === 1 && wildcardMatch(rule.segments[0] ?? '', parts.at(-1) ?? '');
  return segmentsMatch(rule.segments, parts);
}

/**
 * One .gitignore's verdict on a path: true (ignored), false (re-included by `!`) or undefined
 * (no rule says anything). The last matching rule wins, as in git.
 */
export function gitignoreVerdict(rules: IgnoreRule[], rel: string, isDir: boolean): boolean | undefined {
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i] as IgnoreRule;
    if (ruleMatches(r, rel, isDir)) return !r.negate;
  }
  return undefined;
}

/**
 * An include/exclude glob against a path relative to the scanned root: a glob without a slash
 * matches the file name at any depth (`*.env`), one with a slash the whole path (`config/**`,
 * `**\/secrets/*.yml`).
 */
export function pathGlobMatch(glob: string, rel: string, isDir = false): boolean {
  const rule = parsePattern(glob);
  return rule !== undefined && !rule.negate && ruleMatches(rule, rel, isDir);
}

/** `**` segments match any number of path segments (zero included). Memoised: O(p * n). */
function segmentsMatch(pattern: string[], parts: string[]): boolean {
  const memo = new Map<number, boolean>();
  const go = (pi: number, ni: number): boolean => {
    const key = pi * (parts.length + 1) + ni;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (pi === pattern.length) r = ni === parts.length;
    else if (pattern[pi] === '**') r = go(pi + 1, ni) || (ni < parts.length && go(pi, ni + 1));
    else r = ni < parts.length && wildcardMatch(pattern[pi] ?? '', parts[ni] ?? '') && go(pi + 1, ni + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** One pattern token: a literal character, `?`, `*`, or a bracket class. */
type Token =
  | { kind: 'char'; c: string }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'class'; test: (c: string) => boolean };

function tokenize(glob: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '\\' && i + 1 < glob.length) out.push({ kind: 'char', c: glob[++i] as string });
    else if (c === '?') out.push({ kind: 'any' });
    else if (c === '*') {
      if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) out.push({ kind: 'char', c });
      else {
        out.push({ kind: 'class', test: bracketClass(glob.slice(i + 1, close)) });
        i = close;
      }
    } else out.push({ kind: 'char', c });
  }
  return out;
}

function bracketClass(body: string): (c: string) => boolean {
  const negate = body.startsWith('!') || body.startsWith('^');
  const set = negate ? body.slice(1) : body;
  const ranges: Array<[string, string]> = [];
  for (let i = 0; i < set.length; i++) {
    const a = set[i] as string;
    if (set[i + 1] === '-' && i + 2 < set.length) {
      ranges.push([a, set[i + 2] as string]);
      i += 2;
    } else ranges.push([a, a]);
  }
  return (c) => ranges.some(([lo, hi]) => c >= lo && c <= hi) !== negate;
}

/**
 * A name against one segment's glob: iterative with one backtrack point (the last `*`), so
 * O(name * pattern) whatever the pattern.
 */
export function wildcardMatch(glob: string, name: string): boolean {
  const toks = tokenize(glob);
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  const one = (t: Token | undefined, c: string) =>
    t !== undefined &&
    (t.kind === 'any' || (t.kind === 'char' && t.c === c) || (t.kind === 'class' && t.test(c)));
  while (n < name.length) {
    const t = toks[g];
    if (t !== undefined && t.kind !== 'star' && one(t, name[n] as string)) {
      g++;
      n++;
    } else if (t?.kind === 'star') {
      star = g++;
      mark = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++mark;
    } else return false;
  }
  while (toks[g]?.kind === 'star') g++;
  return g === toks.length;
}

/** One .gitignore: its directory relative to the scanned root ('' for the root) and its rules. */
export interface IgnoreLayer {
  base: string;
  rules: IgnoreRule[];
}

/**
 * Whether `rel` (relative to the scanned root) is ignored by the .gitignore files above it,
 * the deepest deciding first, as in git. Layers run from the root down.
 */
export function isIgnored(layers: readonly IgnoreLayer[], rel: string, isDir: boolean): boolean {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as IgnoreLayer;
    const sub =
      layer.base === ''
        ? rel
        : rel.startsWith(`${layer.base}/`)
          ? rel.slice(layer.base.length + 1)
          : undefined;
    if (sub === undefined) continue;
    const verdict = gitignoreVerdict(layer.rules, sub, isDir);
    if (verdict !== undefined) return verdict;
  }
  return false;
}
