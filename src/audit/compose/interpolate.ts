/**
 * Compose's variable interpolation (compose-spec "Interpolation"), pure: `$$`, `$VAR`, `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`,
 * with nested templates in the default/alternative part as compose-go allows.
 *
 * Variables come only from the map the caller passes (the project's .env and env_file): the
 * server's own process environment must never leak into an audit result.
 */

export type Env = ReadonlyMap<string, string>;

export interface Interpolated {
  value: string;
  /** Variables referenced but not set and without a default: Compose warns and uses "". */
  unset: string[];
  /** `${VAR:?msg}` / `${VAR?msg}` failures and malformed templates: Compose refuses the file. */
  errors: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/** Nested templates are rare; the cap keeps a hostile file from recursing deep. */
const MAX_DEPTH = 8;

export function interpolate(input: string, env: Env): Interpolated {
  const out: Interpolated = { value: '', unset: [], errors: [] };
  out.value = expand(input, env, out, 0);
  return out;
}

function expand(s: string, env: Env, acc: Interpolated, depth: number): string {
  if (!s.includes('$')) return s;
  if (depth > MAX_DEPTH) {
    acc.errors.push('templates nested too deep');
    return s;
  }
  let res = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c !== '$') {
      res += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      res += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(s, i + 2);
      if (end < 0) {
        acc.errors.push('unterminated ${ in a value (escape a literal $ as $$)');
        res += s.slice(i);
        break;
      }
      res += braced(s.slice(i + 2, end), env, acc, depth);
      i = end + 1;
      continue;
    }
    const name = NAME.exec(s.slice(i + 1))?.[0];
    if (name) {
      res += lookup(name, env, acc);
      i += 1 + name.length;
      continue;
    }
    // compose-go rejects a lone `$` followed by anything else ("invalid interpolation format").
    acc.errors.push('a "$" not followed by a variable name (escape a literal $ as $$)');
    res += '$';
    i++;
  }
  return res;
}

/** Index of the `}` closing a `${` whose body starts at `from`, counting nested `${`. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '$') i++;
    else if (s[i] === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function braced(body: string, env: Env, acc: Interpolated, depth: number): string {
  const name = NAME.exec(body)?.[0];
  if (!name) {
    acc.errors.push('invalid ${...} template (a variable name must start with a letter or _)');
    return '';
  }
  const rest = body.slice(name.length);
  if (rest === '') return lookup(name, env, acc);
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (!op) {
    acc.errors.push(`invalid modifier after \${${name} (use :-, -, :?, ?, :+ or +)`);
    return '';
  }
  const arg = rest.slice(op.length);
  const v = env.get(name);
  const set = v !== undefined;
  const nonEmpty = set && v !== '';
  switch (op) {
    case ':-':
      return nonEmpty ? v : expand(arg, env, acc, depth + 1);
    case '-':
      return set ? v : expand(arg, env, acc, depth + 1);
    case ':?':
    case '?':
      if (op === ':?' ? nonEmpty : set) return v as string;
      // The message is the file author's text, never a value: safe to report.
      acc.errors.push(`required variable ${name} is missing a value${arg ? `: ${arg}` : ''}`);
      return '';
    case ':+':
      return nonEmpty ? expand(arg, env, acc, depth + 1) : '';
    default:
      return set ? expand(arg, env, acc, depth + 1) : '';
  }
}

function lookup(name: string, env: Env, acc: Interpolated): string {
  const v = env.get(name);
  if (v === undefined) {
    acc.unset.push(name);
    return '';
  }
  return v;
}

/**
 * The literal text a value carries once every variable reference is taken away: "" for
 * `${DB_PASSWORD}`, "hunter2" for `${DB_PASSWORD:-hunter2}` or a bare `hunter2`. Used by the
 * plaintext-secret rule, which cares about what is written in the file, not what .env holds.
 */
export function literalPart(raw: string): string {
  return interpolate(raw, new Map()).value;
}
