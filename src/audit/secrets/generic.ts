import { shannonEntropy } from './entropy.js';
import { isPlaceholder } from './placeholders.js';
import { isPublicExample } from './publicExamples.js';

/**
 * `password = ...`, `secret: ...`, `"api_key": "..."`, `TOKEN=...`, `var apiSecret string = "..."`,
 * `$cfg['db_password'] .= '...'`, `setProperty("DB_TOKEN", "...")`, `<add key="ApiSecret"
 * value="..."/>`: a literal assigned to a name that says "credential". Candidate names are found
 * by a plain keyword search and widened by hand (not by one big regex), so a long line of
 * identifier characters cannot make the regex engine backtrack. Every assignment on a line is
 * examined, not only the first.
 */
const KEYWORD = /passw(?:or)?d|passphrase|pwd|pass|secret|token|key|credential|creds?|auth/gi;

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const MAX_NAME = 80;
const MIN_VALUE = 8;
const MAX_VALUE = 256;

/** Name segments (lower-cased) that make a name a credential's, wherever they stand. */
const SECRET_SEGMENTS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'credential',
  'credentials',
  'creds',
  'cred',
  'apikey',
  'privatekey',
  'accesskey',
  'secretkey',
  'authkey',
]);
/** Substrings of a segment that say credential in run-together names (dbpassword, apitoken). */
const SECRET_INFIX = /passw(?:or)?d|passphrase|secret|token/;
/** `<word> key` pairs that name a secret key; `key` alone counts only as the whole name. */
const KEY_QUALIFIERS = new Set([
  'api',
  'access',
  'auth',
  'private',
  'secret',
  'encryption',
  'signing',
  'master',
  'hmac',
  'jwt',
  'session',
]);
/**
 * Names that hold no secret though they contain a keyword: what the value describes (token_type,
 * password_file, secret_name), a hash or digest of a secret (hashed_secret, password_sha256),
 * CSRF tokens (sent to every browser) and public keys or tokens.
 */
const NOT_SECRET_LAST = new Set([
  'file',
  'files',
  'path',
  'dir',
  'url',
  'uri',
  'endpoint',
  'length',
  'len',
  'size',
  'type',
  'name',
  'names',
  'id',
  'ids',
  'count',
  'expiry',
  'expires',
  'expiration',
  'ttl',
  'timeout',
  'header',
  'field',
  'param',
  'prompt',
  'label',
  'policy',
  'regex',
  'pattern',
  'format',
  'mode',
  'enabled',
  'required',
  'min',
  'max',
  'rotation',
  'version',
  'provider',
  'manager',
  'ref',
  'arn',
  'at',
  'kid',
  'env',
  'var',
  'store',
  'vault',
  'location',
  'method',
  'scheme',
  'scope',
  'scopes',
  'source',
  'hint',
  'error',
  'message',
  'mask',
  'chars',
  'alphabet',
]);
const NOT_SECRET_ANYWHERE = new Set([
  'hash',
  'hashed',
  'hashes',
  'digest',
  'checksum',
  'fingerprint',
  'md5',
  'sha',
  'sha1',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'bcrypt',
  'csrf',
  'xsrf',
  'authenticity', // Rails' CSRF token: authenticity_token
  'public',
  'pub',
  'publishable',
]);
/** Run-together words built on a keyword that are not credentials: tokenizer, secretary, passwordless. */
const NOT_SECRET_WORD = /(?:izer|izers|ize|ized|ization|ary|less|able)$/;

/** Letters that read as a word: a vowel, no 5 consonants in a row, vowels at least a quarter. */
function isWord(w: string): boolean {
  const vowels = (w.match(/[aeiouy]/g) ?? []).length;
  return vowels * 4 >= w.length && !/[^aeiouy]{5}/.test(w);
}

/** A name-like piece: lower-case or capitalised words, SCREAMING_SNAKE, snake_case, camelCase. */
function wordLike(part: string): boolean {
  if (/^(?:[a-z_$][a-z0-9_$]*|[A-Z][A-Z0-9_]*|[A-Z]?[a-z0-9]+)$/.test(part) || looksLikeIdentifier(part))
    return true;
  // id_ce_privateKeyUsagePeriod: snake parts that are each word-like.
  const parts = part.split('_').filter(Boolean);
  return (
    parts.length > 1 &&
    parts.every((x) => /^(?:[a-z0-9]+|[A-Z][A-Z0-9]*|[A-Z]?[a-z0-9]+)$/.test(x) || looksLikeIdentifier(x))
  );
}

/** Values that are code or data, not a literal credential. */
const NOT_A_SECRET_VALUE: Array<{ test: (v: string) => boolean }> = [
  /[()]/, // a call: os.getenv("X"), z.string()
  // A property path: process.env.TOKEN, self.password, settings.SECRET_KEY (of word-like parts).
  {
    test: (v: string) =>
      /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(v) &&
      v.split('.').every((p) => p.length <= 32 && wordLike(p)),
  },
  /^[a-z][a-z0-9+.-]*:\/\//i, // a URL (basic-auth-url handles credentials in URLs)
  /^(?:\/|\.\.?\/|~\/)[\w./-]*$/, // a path: /run/secrets/db
  /^sha(?:1|256|384|512)-/, // a subresource-integrity hash in a lock file
  /^[\d.:_-]+$/, // numbers, versions, times
  /^(?:[\^~]|[<>]=?|==?)\s*v?\d+(?:\.(?:\d+|[xX*]))*(?:-[\w.]+)?(?:\s+.*)?$/, // version ranges: ^4.0.0, >=1.2 <2
  /^[a-z]+(?:[_-][a-z]+)+$/, // snake_case or kebab-case words
  /^[A-Z]+(?:_[A-Z]+)+$/, // SCREAMING_SNAKE words
  /^[\p{L}'’?!.,:-]+(?:\s+[\p{L}'’?!.,:-]+)+$/u, // prose: a translated label, "Forgot your password?"
  // Code, not a literal: !isComplete, &buf, ?Name, items[key, getToken(, a.b.c[0, [a, b],
  // options?.authInfo, peg$currPos, ArrowToken$1, $insta::secret, {CryptoKey}, {string|Buffer}.
  {
    test: (v: string) =>
      /^[!&*?]+[A-Za-z_$][\w$.]*$/.test(v) &&
      v
        .replace(/^[!&*?]+/, '')
        .split('.')
        .every(wordLike),
  },
  /^[A-Za-z_$][\w$]*(?:\??\.[\w$]+)*\s*[[(]|^\[/,
  /^[A-Za-z_$][\w$]*(?:\?\.[\w$]+)+$|^[A-Za-z_][\w]*\$[\w$]*$/,
  {
    test: (v: string) =>
      /^\$[A-Za-z_]\w*(?:(?:::|->|\.)\w+)+$/.test(v) &&
      v
        .slice(1)
        .split(/::|->|\./)
        .every(wordLike),
  },
  /^\{[A-Za-z_$][\w$.<>|\s]*\}?$/,
  // Text in another script (a translated message): secrets are ASCII.
  /[^\t -~]/,
  // Title-Case words joined: Access-Control-Allow-Origin, General_Category.
  /^[A-Z][a-z]+(?:[-_][A-Z]?[a-z]+)+$/,
  // One word, capitalised or not (Credentials, anonymous): shorter words reach a short value's bar.
  { test: (v: string) => /^[A-Z]?[a-z]+$/.test(v) && isWord(v.toLowerCase()) },
  // An e-mail address (anonymous FTP's password) and a path under a variable ($dir/private/key.pem).
  /^[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}$/,
  /^\$\{?\w+\}?\//,
  // JSON or another quoted structure inside the value.
  /[{[]"|":/,
  // A relative path of lower-case parts: kadmin/server, config/app.yml.
  /^(?=.*[a-z]{3})[a-z0-9._-]+(?:\/[a-z0-9._-]+)+\/?$/,
  // A regular expression's character class: [A-Za-z0-9._~+/-]+=*.
  /\[[^\]]*\w-\w[^\]]*\][+*?{]/,
  // Words separated by spaces: a message, a label, a sentence with punctuation.
  { test: (v: string) => /\s/.test(v) && (v.match(/[A-Za-z]{2,}/g) ?? []).length >= 2 },
  // A slug of words and numbers: cmp2-qat-1208358310, jjwt-jackson-0.11.2, ctrl+shift+p.
  /^(?=.*[a-z]{3})[a-z]+[0-9]*(?:[-_.+](?:[a-z]+[0-9]*|[0-9]+))+$/,
  // A domain-qualified label or a host path: node-role.kubernetes.io/master, example.com/x.
  /^(?:[a-z0-9-]+\.)+[a-z]{2,}(?:\/[\w.-]*)*$/i,
];

/**
 * Vendor prefixes: such a value is judged by its vendor rule (format, checksum), and one that
 * fails it (a hand-made ghp_..., an unsigned eyJ..., a PEM block with no body) is a made-up
 * example, not a generic secret.
 */
const VENDOR_PREFIX =
  /^(?:gh[pousr]_|github_pat_|glpat-|xox[abeoprs]-|xoxe\.|xapp-|sk_live_|rk_live_|sk_test_|rk_test_|pk_live_|pk_test_|sk-ant-|sk-proj-|AKIA|ASIA|AIza|eyJ[\w-]*\.eyJ[\w-]*\.|-----BEGIN)/;

export interface GenericCandidate {
  /** 0-based offsets of the value in the line. */
  start: number;
  end: number;
  value: string;
  quoted?: boolean;
}

/** What ends an unquoted value. */
const VALUE_END = new Set([' ', '\t', ',', ';', "'", '"', '`', ')', '}', ']', '<', '>']);

/** Every value assigned to a credential-named name on `line` that passes the filters. */
/** Longer lines are minified code or data: the generic rule skips them (vendor rules do not). */
const MAX_GENERIC_LINE = 4096;

export function genericCandidates(line: string, entropyThreshold: number): GenericCandidate[] {
  const out: GenericCandidate[] = [];
  if (line.length > MAX_GENERIC_LINE) return out;
  const re = new RegExp(KEYWORD.source, KEYWORD.flags);
  const quotes = new QuoteTracker(line);
  let m: RegExpExecArray | null;
  let resumeAt = 0;
  while ((m = re.exec(line)) !== null) {
    if (m.index < resumeAt) continue;
    let nameStart = m.index;
    while (nameStart > 0 && m.index - nameStart < MAX_NAME && NAME_CHAR.test(line[nameStart - 1] ?? ''))
      nameStart--;
    let nameEnd = m.index + m[0].length;
    while (nameEnd < line.length && nameEnd - m.index < MAX_NAME && NAME_CHAR.test(line[nameEnd] ?? ''))
      nameEnd++;
    re.lastIndex = nameEnd;
    const name = line.slice(nameStart, nameEnd);
    if (!isSecretName(name)) continue;
    // obj[key] = ...: an unquoted name in brackets is a variable holding the name.
    if (line[nameStart - 1] === '[' && line[nameEnd] === ']') continue;
    // Cheapest test first: most names in code are not followed by an assignment.
    const value = valueAfter(line, nameStart, nameEnd);
    if (!value) continue;
    if (insideProse(line, nameStart, quotes.at(nameStart))) continue;
    if (!isLiteralSecret(value.value, entropyThreshold)) {
      // A rejected value is skipped too, but for key="ApiSecret" value="...": the name is in it.
      if (!value.quoted || !/^(?:key|name)$/i.test(name)) re.lastIndex = Math.max(re.lastIndex, value.end);
      continue;
    }
    // A reported value is not searched for names; a rejected one is (key="ApiSecret" value="...").
    resumeAt = value.end;
    re.lastIndex = Math.max(re.lastIndex, value.end);
    out.push(value);
  }
  return out;
}

/**
 * Which quote (if any) is open at a position, for positions asked in increasing order: one pass
 * over the line in all, so a line of 50,000 names stays linear.
 */
class QuoteTracker {
  private pos = 0;
  private quote = '';
  private openedAt = -1;
  constructor(private readonly line: string) {}

  at(target: number): { quote: string; openedAt: number } {
    const line = this.line;
    for (; this.pos < target; this.pos++) {
      const c = line[this.pos];
      if (c === '\\') this.pos++;
      else if (this.quote === '' && (c === '"' || c === "'" || c === '`')) {
        this.quote = c;
        this.openedAt = this.pos;
      } else if (c === this.quote) this.quote = '';
    }
    return { quote: this.quote, openedAt: this.openedAt };
  }
}

/**
 * Splits a name into lower-case words: at separators, and at case changes unless the name is
 * all capitals (DB_PASSWORD, apiSecretKey, X-Auth-Token, spring.datasource.password).
 */
function segments(name: string): string[] {
  const parts = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    if (p === p.toUpperCase()) out.push(p.toLowerCase());
    else for (const w of p.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? []) out.push(w.toLowerCase());
  }
  // OAuth splits as o + auth: it names a protocol, not a credential.
  for (let i = out.length - 2; i >= 0; i--)
    if (out[i] === 'o' && out[i + 1] === 'auth') out.splice(i, 2, 'oauth');
  return out;
}

/** Verdicts on names seen recently: files repeat the same few names on many lines. */
const nameVerdicts = new Map<string, boolean>();

export function isSecretName(rawName: string): boolean {
  const hit = nameVerdicts.get(rawName);
  if (hit !== undefined) return hit;
  if (nameVerdicts.size >= 4096) nameVerdicts.clear();
  const verdict = judgeName(rawName);
  nameVerdicts.set(rawName, verdict);
  return verdict;
}

function judgeName(rawName: string): boolean {
  // The last element of a path (spring.datasource.password, config.key) is the name.
  const name = rawName.replace(/^[.-]+|[.-]+$/g, '');
  const words = segments(name);
  const last = words.at(-1);
  if (last === undefined || NOT_SECRET_LAST.has(last)) return false;
  if (words.some((w) => NOT_SECRET_ANYWHERE.has(w) || /^(?:sha\d*|hash\w*)$/.test(w))) return false;
  const path = name.split('.');
  if (segments(path.at(-1) ?? '').join('') === 'key') return true;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (NOT_SECRET_WORD.test(w) && SECRET_INFIX.test(w)) return false;
    if (SECRET_SEGMENTS.has(w) || SECRET_INFIX.test(w)) return true;
    // db_pass, MYSQL_PASS, user_auth, basic_auth; but secondPassForFixAll, pass_through,
    // authInfo, auth_method are not credentials.
    if ((w === 'pass' || w === 'auth') && i === words.length - 1) return true;
    if (w === 'key' && i > 0 && KEY_QUALIFIERS.has(words[i - 1] as string)) return true;
  }
  return false;
}

/**
 * True when the name stands inside a quoted sentence ("Set password=... in the config", 'The
 * token: ... was rejected'): key/value text in prose explains, it does not configure. A name that
 * follows `;`, `&` or another assignment (a connection string, DB_USER=app DB_PASSWORD=...) is not
 * prose, nor is a quoted shell command (export/set).
 */
function insideProse(line: string, nameStart: number, open: { quote: string; openedAt: number }): boolean {
  const q = open.quote;
  if (q === '' || nameStart - open.openedAt > 400) return false;
  // The word before the name is all that matters: look at most 40 characters back.
  const before = line.slice(Math.max(open.openedAt + 1, nameStart - 40), nameStart);
  const words = before.trim().split(/\s+/).filter(Boolean);
  const prev = words.at(-1);
  if (prev === undefined || !/\s$/.test(before)) return false;
  if (!/^[A-Za-z][a-z]*[,:]?$/.test(prev) || /^(?:export|set|setenv|env|declare|local|readonly)$/.test(prev))
    return false;
  // The sentence goes on after the value: a space and a word before the closing quote.
  const window = line.slice(nameStart, nameStart + MAX_NAME + MAX_VALUE + 80);
  const close = window.indexOf(q);
  const rest = close < 0 ? window : window.slice(0, close);
  return /\S\s+[A-Za-z]{2,}/.test(rest.replace(/^[^\s=:]*\s*[=:]\s*/, ''));
}

/** `string`, `&str`, `String`, `char*` ... between a name and `=` in typed declarations. */
const TYPE_ANNOTATION =
  /^\s*(?::\s*)?(?:&'?\w*\s*|\*\s*)?(?:string|String|str|char\s*\*?|\[\]byte|const\s+char\s*\*)\s*(?=[:=])/;
/**
 * A call's first argument is the name, its second the value: setProperty("X_TOKEN", "..."). The
 * string must be the name alone (not "kadmin/passwd") and more than a bare "key" (a list of keys).
 */
const CALL_VALUE = /^\s*,\s*(?=["'`])/;
/** <add key="ApiSecret" value="..."/>, <entry name="password" value="..."/>. */
const XML_VALUE = /^\s+value\s*=\s*(?=["'])/;

/** The value of `name <sep> value` after the name at [nameStart, pos), if there is one. */
function valueAfter(line: string, nameStart: number, pos: number): GenericCandidate | undefined {
  let i = pos;
  const opener = line[nameStart - 1];
  // A closing quote or bracket of the name: "password": / ['password'] =
  const quoted = line[i] === '"' || line[i] === "'" || line[i] === '`';
  if (quoted || line[i] === ']') i++;
  if (line[i] === "'" || line[i] === '"' || line[i] === ']') i++;
  const rest = line.slice(i, i + 40);
  if (quoted) {
    const call =
      opener === line[pos] && !/^key$/i.test(line.slice(nameStart, pos)) ? CALL_VALUE.exec(rest) : null;
    if (call) {
      // Only a value without spaces: diag(1179, "Unexpected_token", "Unexpected token.") is a message.
      const v = quotedValue(line, i + call[0].length);
      return v && !/\s/.test(v.value) ? v : undefined;
    }
    const xml = /(?:key|name)\s*=\s*["']$/.test(line.slice(Math.max(0, nameStart - 12), nameStart))
      ? XML_VALUE.exec(rest)
      : null;
    if (xml) return quotedValue(line, i + xml[0].length);
  }
  // <password>value</password>
  if (opener === '<' && line[i] === '>') {
    const close = line.slice(i + 1, i + 2 + MAX_VALUE).indexOf('</') + i + 1;
    if (close <= i) return undefined;
    return { start: i + 1, end: close, value: line.slice(i + 1, close) };
  }
  const typed = TYPE_ANNOTATION.exec(line.slice(i, i + 40));
  if (typed) i += typed[0].length;
  while (line[i] === ' ' || line[i] === '\t') i++;
  const two = line.slice(i, i + 2);
  if (two === ':=' || two === '=>' || two === '.=' || two === '+=') i += 2;
  else if (line[i] === '=' || line[i] === ':') {
    // == and != compare (a == b, a == "b"); =~ matches; :: is a scope (Class::TOKEN). NAME==x
    // with no spaces is a .env value that starts with "=".
    const spaced = /[\s"'`]/.test(line[i - 1] ?? '') || /[\s"'`]/.test(line[i + 2] ?? '');
    if ((line[i + 1] === '=' && spaced) || line[i + 1] === '~' || line.slice(i, i + 2) === '::')
      return undefined;
    i++;
  } else if (
    nameStart < 40 &&
    /^\s*(?:setenv|set(?:\s+-[a-zA-Z]+)*)\s+$/.test(line.slice(0, nameStart)) &&
    /^\s/.test(line[pos] ?? '')
  ) {
    // csh/fish: setenv NAME value, set -gx NAME value
  } else return undefined;
  while (line[i] === ' ' || line[i] === '\t') i++;
  // PHP/Objective-C string prefixes and YAML tags: @"...", !!binary ...
  if (line[i] === '@' && (line[i + 1] === '"' || line[i + 1] === "'")) i++;
  const tag = /^!!(?:binary|str)\s+/.exec(line.slice(i, i + 16));
  if (tag) i += tag[0].length;
  const q = line[i];
  if (q === '"' || q === "'" || q === '`') return quotedValue(line, i);
  let end = i;
  while (end < line.length && end - i <= MAX_VALUE && !VALUE_END.has(line[end] as string)) {
    // password=...&api_key=...: a query string's next pair ends the value.
    if (line[end] === '&' && /^&[A-Za-z_][\w.-]*=/.test(line.slice(end, end + 40))) break;
    end++;
  }
  if (end === i) return undefined;
  return { start: i, end, value: line.slice(i, end) };
}

function quotedValue(line: string, i: number): GenericCandidate | undefined {
  const q = line[i] as string;
  const limit = Math.min(line.length, i + MAX_VALUE + 2);
  let close = i + 1;
  while (close < limit && line[close] !== q) close += line[close] === '\\' ? 2 : 1;
  if (close >= limit) return undefined;
  return { start: i + 1, end: close, value: line.slice(i + 1, close), quoted: true };
}

/**
 * camelCase and PascalCase identifiers (getSecretFromVault, SecretManagerClient, sha256Hash) as
 * opposed to random mixed-case strings: an identifier is made of word-like pieces, each a run of
 * two or more lower-case letters (with a vowel) after at most one capital, short acronyms, and few
 * short numbers. In random base62 capitals and digits land next to each other or before single
 * lower-case letters, so fewer than 1 in 200 random strings of 12+ characters pass (measured in
 * tests/unit/secrets.test.ts), where the old "starts lower-case, has a capital" shape took 42%.
 */
/** Two-letter words that stand as pieces of identifiers (isSearching, failIfMajor, contextId). */
const SHORT_WORDS = new Set(
  'is if to id of on by at in or up go no do as be me my we it an ok ui db io os ip js ec rs ux ms px op re'.split(
    ' ',
  ),
);

export function looksLikeIdentifier(raw: string): boolean {
  // A leading _ or $ marks private members (_initCache, $scope).
  const value = raw.replace(/^[_$]+/, '');
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(value) || !/[A-Z]/.test(value) || !/[a-z]/.test(value)) return false;
  // One capital before a capitalised word is a one-letter acronym: OAuth, IAuthProvider, XPath.
  const pieces =
    value.match(/[A-Z]{2,}(?=[A-Z][a-z]|[0-9]|$)|[A-Z](?=[A-Z][a-z]{2})|[A-Z]?[a-z]+|[0-9]+|[A-Z]/g) ?? [];
  if (pieces.length < 2) return false;
  // At least one real word: three or more letters with a vowel (JTnq has none).
  if (!pieces.some((p) => /^[A-Z]?[a-z]{2,}$/.test(p) && /[aeiouy]/.test(p.slice(1)))) return false;
  let numbers = 0;
  let acronyms = 0;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i] as string;
    if (/^[0-9]+$/.test(p)) {
      if (p.length > 3 || ++numbers > 2) return false;
    } else if (/^[A-Z]+$/.test(p)) {
      // An acronym (HTTP, URL, ID, the O of OAuth), or a single capital at the end (getX).
      const beforeWord = /^[A-Z][a-z]{2}/.test(pieces[i + 1] ?? '');
      if (p.length === 1 && i !== pieces.length - 1 && !beforeWord) return false;
      if (p.length > 5 || ++acronyms > 2) return false;
    } else {
      const lower = p.replace(/^[A-Z]/, '');
      // One letter after a number ends names (vertexAttrib2f); a lower-case prefix starts them (feBlend).
      const ending = i === pieces.length - 1 && /^[0-9]/.test(pieces[i - 1] ?? '');
      if (p.length < 2 && !ending) return false;
      if (p.length === 2 && i > 0 && !SHORT_WORDS.has(p.toLowerCase())) return false;
      // Short vowel-less abbreviations (Html, Ctx, Msg) happen, twice at most.
      if (!/[aeiouy]/.test(lower) && !ending && (p.length > 4 || ++acronyms > 2)) return false;
      // Words rarely stack 6 consonants (fullscreen has 5); random letters do.
      if (/[^aeiouy]{6}/.test(lower)) return false;
    }
  }
  return true;
}

export function isLiteralSecret(value: string, entropyThreshold: number): boolean {
  const length = [...value].length;
  if (length < MIN_VALUE || length > MAX_VALUE) return false;
  // The entropy bar first: one pass over the value rejects most words and code.
  if (shannonEntropy(value) < effectiveThreshold(value, length, entropyThreshold)) return false;
  if (isPlaceholder(value) || isPublicExample(value)) return false;
  if (VENDOR_PREFIX.test(value)) return false;
  if (NOT_A_SECRET_VALUE.some((re) => re.test(value))) return false;
  return !looksLikeIdentifier(value);
}

/**
 * The entropy a value needs. A string of n characters cannot score more than log2(n), and random
 * ones score less: 12 random base62 characters average 3.41 bits, 32 hex digits 3.61, so a flat
 * 3.5 would reject most short random secrets. The bar is therefore the lower of the threshold and
 * what a random string of this length and alphabet scores on average minus 0.45 bits (about its
 * 0.5th percentile, measured in tests/unit/secrets.test.ts), for values strong enough (>= 60 bits
 * if random) that a fingerprint of them cannot be reversed by trying candidates.
 */
function effectiveThreshold(value: string, n: number, threshold: number): number {
  const k = alphabetSize(value);
  if (n * Math.log2(k) < 60) return threshold;
  return Math.min(threshold, expectedEntropy(n, k) - 0.45);
}

/** The size of the alphabet a value seems drawn from: hex, or the character classes it uses. */
function alphabetSize(v: string): number {
  if (/^[0-9a-f-]+$/.test(v) || /^[0-9A-F-]+$/.test(v)) return 16;
  let k = 0;
  if (/[a-z]/.test(v)) k += 26;
  if (/[A-Z]/.test(v)) k += 26;
  if (/[0-9]/.test(v)) k += 10;
  if (/[^A-Za-z0-9]/.test(v)) k += 16;
  return Math.max(k, 2);
}

const expected = new Map<number, number>();

/**
 * The mean Shannon entropy of n characters drawn uniformly from k: each symbol's count is
 * Binomial(n, 1/k), so E[H] = -k * sum_x P(x) (x/n) log2(x/n). Exact, and cached per (n, k).
 */
export function expectedEntropy(n: number, k: number): number {
  const key = n * 1000 + k;
  const hit = expected.get(key);
  if (hit !== undefined) return hit;
  const p = 1 / k;
  let pmf = (1 - p) ** n;
  let e = 0;
  for (let x = 0; x <= n; x++) {
    if (x > 0) e -= k * pmf * (x / n) * Math.log2(x / n);
    pmf = (pmf * (n - x) * p) / ((x + 1) * (1 - p));
  }
  expected.set(key, e);
  return e;
}
