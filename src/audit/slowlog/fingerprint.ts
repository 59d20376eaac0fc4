/**
 * Statement fingerprints in the manner of pt-query-digest (Percona Toolkit's QueryRewriter):
 * comments stripped, literals (strings, numbers, hex and bit values, TRUE/FALSE/NULL) become
 * `?`, IN and VALUES lists collapse to `in(?+)` / `values(?+)`, multi-row INSERTs keep their
 * first row, `LIMIT ?, ?` becomes `limit ?`, ASC is dropped, whitespace is collapsed and the
 * whole statement is lower-cased. The id is pt-query-digest's checksum: the last 16 hex digits
 * of the fingerprint's MD5, upper-case.
 *
 * Unlike pt-query-digest (a chain of regular expressions) this is one tokenizing pass, so it
 * keeps digits inside identifiers (`t1` and `t2` stay apart; pt makes both `t?`), tells a
 * binary minus from a sign (`a - 1` is `a - ?`, pt gives `a ? ?`), knows escaped quotes,
 * charset introducers (`_utf8mb4'x'`, `N'x'`, `X'ff'`) and, for PostgreSQL, `$1` parameters,
 * dollar-quoted strings, `E'...'` strings, double-quoted identifiers and `ARRAY[...]` lists.
 * Pure and linear in the statement's length.
 */
import { createHash } from 'node:crypto';
import type { SlowLogFormat } from './types.js';

const enum C {
  Tab = 9,
  Nl = 10,
  Vt = 11,
  Ff = 12,
  Cr = 13,
  Space = 32,
  Bang = 33,
  DQuote = 34,
  Hash = 35,
  Dollar = 36,
  Percent = 37,
  Amp = 38,
  Quote = 39,
  LParen = 40,
  RParen = 41,
  Star = 42,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Slash = 47,
  D0 = 48,
  D9 = 57,
  Lt = 60,
  Eq = 61,
  Gt = 62,
  Question = 63,
  A = 65,
  Z = 90,
  LBracket = 91,
  Backslash = 92,
  Caret = 94,
  Underscore = 95,
  Backtick = 96,
  a = 97,
  z = 122,
  Pipe = 124,
  Tilde = 126,
}

const isWs = (c: number) => c === C.Space || (c >= C.Tab && c <= C.Cr);
const isDigit = (c: number) => c >= C.D0 && c <= C.D9;
const isIdentStart = (c: number) =>
  (c >= C.a && c <= C.z) || (c >= C.A && c <= C.Z) || c === C.Underscore || c >= 128;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c) || c === C.Dollar;
const isHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** After these words a `-` or `+` before a number is its sign, not an operator. */
const VALUE_KEYWORDS = new Set([
  'select',
  'where',
  'and',
  'or',
  'not',
  'on',
  'set',
  'values',
  'value',
  'in',
  'by',
  'then',
  'else',
  'when',
  'case',
  'return',
  'returning',
  'limit',
  'offset',
  'between',
  'like',
  'is',
  'having',
  'interval',
  'as',
  'div',
  'mod',
  'xor',
  'distinct',
  'all',
  'any',
  'some',
  'exists',
  'elseif',
  'if',
]);

/** Word-prefixes of a string literal: N'..', X'..', B'..', E'..' (PostgreSQL), U&'..'. */
const STRING_PREFIXES = new Set(['n', 'x', 'b', 'e']);

interface ScanOptions {
  dialect: SlowLogFormat;
  /** Fingerprint: lower-case words and keep only the first row of a multi-row INSERT. */
  fingerprint: boolean;
  /** Stop once the output is this long (examples). */
  maxChars: number;
}

/** The end (exclusive) of a quoted run starting at `i` (the opening quote). */
function skipQuoted(s: string, i: number, quote: number, backslash: boolean): number {
  const n = s.length;
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (backslash && c === C.Backslash) {
      j += 2;
      continue;
    }
    if (c === quote) {
      // A doubled quote is an escaped quote in both engines.
      if (j + 1 < n && s.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return n;
}

function scan(sql: string, o: ScanOptions): string {
  const n = sql.length;
  const mysql = o.dialect === 'mysql';
  let out = '';
  let pendingSpace = false;
  /** The last emitted token's kind, for telling a sign from an operator. */
  let lastChar = -1;
  let lastWord = '';
  let lastWasWord = false;
  let depth = 0;
  // Multi-row INSERT: after the first row closes, the following rows are not emitted.
  let firstWord = '';
  let valuesDepth = -1;
  let firstRowDone = false;
  let suppress = false;

  const emit = (s: string, word: boolean) => {
    if (suppress) return;
    if (pendingSpace && out.length > 0) out += ' ';
    pendingSpace = false;
    out += s;
    lastChar = s.charCodeAt(s.length - 1);
    lastWasWord = word;
    if (word) lastWord = s.toLowerCase();
  };
  const literal = () => emit('?', false);

  let i = 0;
  while (i < n) {
    if (out.length > o.maxChars) break;
    const c = sql.charCodeAt(i);
    if (isWs(c)) {
      pendingSpace = true;
      i++;
      continue;
    }
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    // Comments act as whitespace.
    if (c === C.Slash && next === C.Star) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      pendingSpace = true;
      continue;
    }
    if (
      (c === C.Minus && next === C.Minus && (!mysql || i + 2 >= n || isWs(sql.charCodeAt(i + 2)))) ||
      (c === C.Hash && mysql)
    ) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      pendingSpace = true;
      continue;
    }
    // Rows of a multi-row INSERT after the first: skipped, strings and all.
    if (suppress && depth === 0 && c !== C.Comma && c !== C.LParen) {
      suppress = false;
      pendingSpace = true;
    }
    if (c === C.Quote) {
      i = skipQuoted(sql, i, C.Quote, mysql);
      literal();
      continue;
    }
    if (c === C.DQuote) {
      const end = skipQuoted(sql, i, C.DQuote, mysql);
      // MySQL (without ANSI_QUOTES) quotes strings with "; PostgreSQL quotes identifiers.
      if (mysql) literal();
      else emit(sql.slice(i, end), true);
      i = end;
      continue;
    }
    if (c === C.Backtick) {
      const end = skipQuoted(sql, i, C.Backtick, false);
      const ident = sql.slice(i, end);
      emit(o.fingerprint ? ident.toLowerCase() : ident, true);
      i = end;
      continue;
    }
    if (c === C.Dollar && !mysql) {
      if (isDigit(next)) {
        i += 2;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
        literal();
        continue;
      }
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
        literal();
        continue;
      }
    }
    if (c === C.Question) {
      literal();
      i++;
      continue;
    }
    if (isDigit(c) || (c === C.Dot && isDigit(next))) {
      let j = i;
      if (c === C.D0 && (next === 120 || next === 88) && i + 2 < n && isHex(sql.charCodeAt(i + 2))) {
        j = i + 2;
        while (j < n && isHex(sql.charCodeAt(j))) j++;
      } else if (
        c === C.D0 &&
        (next === 98 || next === 66) &&
        i + 2 < n &&
        (sql[i + 2] === '0' || sql[i + 2] === '1')
      ) {
        j = i + 2;
        while (j < n && (sql[j] === '0' || sql[j] === '1')) j++;
      } else {
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (j < n && sql.charCodeAt(j) === C.Dot) {
          j++;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
        const e = j < n ? sql.charCodeAt(j) : -1;
        if (e === 101 || e === 69) {
          let k = j + 1;
          const s = k < n ? sql.charCodeAt(k) : -1;
          if (s === C.Plus || s === C.Minus) k++;
          if (k < n && isDigit(sql.charCodeAt(k))) {
            j = k;
            while (j < n && isDigit(sql.charCodeAt(j))) j++;
          }
        }
      }
      if (j < n && isIdentPart(sql.charCodeAt(j))) {
        // An identifier that starts with digits (MySQL allows `2fa_codes`).
        while (j < n && isIdentPart(sql.charCodeAt(j))) j++;
        const w = sql.slice(i, j);
        emit(o.fingerprint ? w.toLowerCase() : w, true);
      } else literal();
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j);
      const lw = word.toLowerCase();
      if (j < n && sql.charCodeAt(j) === C.Quote && (STRING_PREFIXES.has(lw) || lw.startsWith('_'))) {
        i = skipQuoted(sql, j, C.Quote, mysql || lw === 'e');
        literal();
        continue;
      }
      if (j + 1 < n && lw === 'u' && sql[j] === '&' && sql.charCodeAt(j + 1) === C.Quote) {
        i = skipQuoted(sql, j + 1, C.Quote, false);
        literal();
        continue;
      }
      i = j;
      if (lw === 'null' || lw === 'true' || lw === 'false') {
        literal();
        continue;
      }
      if (firstWord === '') firstWord = lw;
      if (
        o.fingerprint &&
        depth === 0 &&
        (lw === 'values' || lw === 'value') &&
        (firstWord === 'insert' || firstWord === 'replace')
      )
        valuesDepth = depth;
      emit(o.fingerprint ? lw : word, true);
      continue;
    }
    // Punctuation. A sign directly before a number is part of the literal.
    if (
      (c === C.Minus || c === C.Plus) &&
      (isDigit(next) || (next === C.Dot && i + 2 < n && isDigit(sql.charCodeAt(i + 2))))
    ) {
      const unary =
        out.length === 0 || (lastWasWord ? VALUE_KEYWORDS.has(lastWord) : isOperatorEnd(lastChar));
      if (unary) {
        i++;
        continue;
      }
    }
    if (c === C.LParen) depth++;
    else if (c === C.RParen) {
      depth = Math.max(0, depth - 1);
      if (o.fingerprint && depth === valuesDepth && !firstRowDone) {
        firstRowDone = true;
        emit(')', false);
        // More rows follow: skip them.
        let k = i + 1;
        while (k < n && isWs(sql.charCodeAt(k))) k++;
        if (k < n && sql.charCodeAt(k) === C.Comma) suppress = true;
        i++;
        continue;
      }
    }
    emit(sql[i] as string, false);
    // Operators are not separated from what follows by a space in the input; keep it so.
    i++;
  }
  if (out.length > o.maxChars) out = `${out.slice(0, o.maxChars)}…`;
  return out;
}

function isOperatorEnd(c: number): boolean {
  return (
    c === C.LParen ||
    c === C.Comma ||
    c === C.Eq ||
    c === C.Lt ||
    c === C.Gt ||
    c === C.Bang ||
    c === C.Star ||
    c === C.Slash ||
    c === C.Plus ||
    c === C.Minus ||
    c === C.Percent ||
    c === C.Caret ||
    c === C.Pipe ||
    c === C.Amp ||
    c === C.Tilde ||
    c === C.LBracket
  );
}

/** Fingerprints longer than this are cut (with "…") before hashing; nobody reads further. */
const MAX_FINGERPRINT_CHARS = 16 * 1024;
const UNION_RE = /\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/g;

export function fingerprint(sql: string, dialect: SlowLogFormat = 'mysql'): string {
  const trimmed = sql.trim();
  // Special cases, each behind a cheap test of the first character (this runs on every entry).
  const c0 = trimmed.charCodeAt(0) | 0x20;
  if (c0 === 115 && trimmed.startsWith('SELECT /*!40001 SQL_NO_CACHE */ * FROM `')) return 'mysqldump';
  if (c0 === 97 && trimmed.startsWith('administrator command: ')) return trimmed.replace(/;$/, '');
  if (c0 === 99) {
    const call = /^call\s+([^\s(]+)\s*\(/i.exec(trimmed);
    if (call) return `call ${(call[1] as string).toLowerCase()}`;
  }
  if (c0 === 117 && /^use\s+\S+;?$/i.test(trimmed)) return 'use ?';
  let fp = scan(trimmed, { dialect, fingerprint: true, maxChars: MAX_FINGERPRINT_CHARS });
  if (fp.endsWith(';')) fp = fp.slice(0, -1).trimEnd();
  if (fp.includes('(') && (fp.includes('in') || fp.includes('value')))
    fp = fp.replace(/\b(in|values?)(?:[\s,]*\([\s?,]*\))+/g, '$1(?+)');
  if (dialect === 'postgres' && fp.includes('array')) fp = fp.replace(/\barray\s*\[[\s?,]*\]/g, 'array[?+]');
  if (fp.length <= 4096 && fp.includes(' union ')) fp = fp.replace(UNION_RE, '$1 /*repeat$2*/');
  if (fp.includes('limit ?')) fp = fp.replace(/\blimit \?(?:\s*,\s*\?| offset \?)?/g, 'limit ?');
  if (fp.includes(' asc')) fp = fp.replace(/ asc\b/g, '');
  return fp;
}

/** The statement with every literal replaced by `?`, comments stripped, case kept; cut at maxChars. */
export function maskLiterals(sql: string, dialect: SlowLogFormat = 'mysql', maxChars = 1000): string {
  return scan(sql.trim(), { dialect, fingerprint: false, maxChars });
}

/** pt-query-digest's checksum of a fingerprint: the last 16 hex digits of its MD5, upper-case. */
export function fingerprintId(fp: string): string {
  return createHash('md5').update(fp).digest('hex').slice(-16).toUpperCase();
}

/**
 * Columns compared in WHERE/ON/USING of a fingerprint: candidates for an index. Heuristic
 * (a word before a comparison), at most 5, in order of appearance.
 */
export function filteredColumns(fp: string): string[] {
  const at = fp.search(/\b(where|on|using)\b/);
  if (at < 0) return [];
  const cols: string[] = [];
  // Linear: a word is tried once, from its first letter (the lookbehind and [\d$]* keep a match
  // from starting inside one), and the whitespace before a word operator is one \s+, not \s*\s+.
  const re =
    /(?:(?<![\w$])[\d$]*(?=[a-z_])|(?=`))([a-z_][\w$]*(?:\.[a-z_][\w$]*)?|`[^`]+`(?:\.`[^`]+`)?)(?:\s*(?:=|<=>|<>|!=|<=|>=|<|>)|\s+(?:(?:not\s+)?in\s*\(|(?:not\s+)?like\s|between\s|is\s))/g;
  re.lastIndex = at;
  const skip = new Set(['and', 'or', 'not', 'where', 'on', 'using', 'select', 'case', 'when', 'then']);
  for (let m = re.exec(fp); m && cols.length < 5; m = re.exec(fp)) {
    const col = m[1] as string;
    if (!skip.has(col) && !cols.includes(col)) cols.push(col);
  }
  return cols;
}
