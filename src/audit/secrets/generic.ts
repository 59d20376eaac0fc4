import { shannonEntropy } from './entropy.js';
import { isPlaceholder } from './placeholders.js';

/**
 * `password = ...`, `secret: ...`, `"api_key": "..."`, `TOKEN=...`: an assignment to a name that
 * says "secret". The name is found by a plain keyword search and widened by hand (not by one
 * big regex) so a long line of identifier characters cannot make the regex engine backtrack.
 */
const KEYWORD =
  /passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key|credential/gi;

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const MAX_NAME = 80;
const MIN_VALUE = 8;
const MAX_VALUE = 256;

/** Names that contain a keyword but hold no secret: token_type, password_file, tokenizer ... */
const NOT_A_SECRET_NAME =
  /(?:file|path|dir|url|uri|endpoint|length|len|size|type|name|id|ids|count|expiry|expires|expires_at|expires_in|ttl|timeout|header|field|param|prompt|label|policy|hash|hashed|regex|pattern|format|mode|enabled|required|min|max|rotation|version|provider|manager|ref|izer|ary|less|_at)$/i;

/** Values that are code or data, not a literal credential. */
const NOT_A_SECRET_VALUE = [
  /[()]/, // a call: os.getenv("X"), z.string()
  /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/, // a property path: process.env.TOKEN, self.password
  /^[a-z][a-z0-9+.-]*:\/\//i, // a URL (basic-auth-url handles credentials in URLs)
  /^(?:\/|\.\.?\/|~\/)[\w./-]*$/, // a path: /run/secrets/db
  /^sha(?:1|256|384|512)-/, // a subresource-integrity hash in a lock file
  /^[\d.:_-]+$/, // numbers, versions, times
  /^[\^~<>=]/, // version ranges
  /^[a-z]+(?:[A-Z][a-z0-9]*)+$/, // camelCase identifier
  /^[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+$/, // PascalCase identifier
  /^[a-z]+(?:[_-][a-z]+)+$/, // snake_case or kebab-case words
  /^[A-Z]+(?:_[A-Z]+)+$/, // SCREAMING_SNAKE words
  /^[\p{L}'’?!.,:-]+(?:\s+[\p{L}'’?!.,:-]+)+$/u, // prose: a translated label, "Forgot your password?"
];

export interface GenericCandidate {
  /** 0-based offsets of the value in the line. */
  start: number;
  end: number;
  value: string;
}

/** Every value assigned to a secret-sounding name on `line` that passes the filters. */
export function genericCandidates(line: string, entropyThreshold: number): GenericCandidate[] {
  const out: GenericCandidate[] = [];
  const re = new RegExp(KEYWORD.source, KEYWORD.flags);
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    let nameStart = m.index;
    while (nameStart > 0 && m.index - nameStart < MAX_NAME && NAME_CHAR.test(line[nameStart - 1] ?? ''))
      nameStart--;
    let nameEnd = m.index + m[0].length;
    while (nameEnd < line.length && nameEnd - m.index < MAX_NAME && NAME_CHAR.test(line[nameEnd] ?? ''))
      nameEnd++;
    re.lastIndex = nameEnd;
    if (NOT_A_SECRET_NAME.test(line.slice(nameStart, nameEnd))) continue;
    const value = valueAfter(line, nameEnd);
    if (!value) continue;
    re.lastIndex = Math.max(re.lastIndex, value.end);
    if (isLiteralSecret(value.value, entropyThreshold)) out.push(value);
  }
  return out;
}

/** The value of `name <sep> value` starting at `pos` (just after the name), if there is one. */
function valueAfter(line: string, pos: number): GenericCandidate | undefined {
  let i = pos;
  // A closing quote or bracket of the name: "password": / ['password'] =
  if (line[i] === '"' || line[i] === "'" || line[i] === ']') i++;
  if (line[i] === "'" || line[i] === '"') i++;
  while (line[i] === ' ' || line[i] === '\t') i++;
  const two = line.slice(i, i + 2);
  if (two === ':=' || two === '=>') i += 2;
  else if (line[i] === '=' || line[i] === ':') {
    // == and != compare; =~ matches: not an assignment.
    if (line[i + 1] === '=' || line[i + 1] === '~') return undefined;
    i++;
  } else return undefined;
  while (line[i] === ' ' || line[i] === '\t') i++;
  const q = line[i];
  if (q === '"' || q === "'" || q === '`') {
    const close = line.indexOf(q, i + 1);
    if (close < 0 || close - i - 1 > MAX_VALUE) return undefined;
    return { start: i + 1, end: close, value: line.slice(i + 1, close) };
  }
  let end = i;
  while (end < line.length && end - i <= MAX_VALUE && !/[\s,;'"`)}\]<>]/.test(line[end] ?? '')) end++;
  if (end === i) return undefined;
  return { start: i, end, value: line.slice(i, end) };
}

export function isLiteralSecret(value: string, entropyThreshold: number): boolean {
  const length = [...value].length;
  if (length < MIN_VALUE || length > MAX_VALUE) return false;
  if (isPlaceholder(value)) return false;
  if (NOT_A_SECRET_VALUE.some((re) => re.test(value))) return false;
  return shannonEntropy(value) >= entropyThreshold;
}
