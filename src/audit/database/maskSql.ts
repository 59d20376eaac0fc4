/**
 * Query text for a report: comments dropped, every literal (strings, numbers, hex, bit and
 * dollar-quoted strings) replaced by `?`, whitespace collapsed, then cut to `maxChars`. Masking
 * runs before the cut, so a cut can never expose part of a literal; an unterminated literal (the
 * server truncated the text) is masked to the end.
 */
export type SqlDialect = 'mysql' | 'postgres';

export function maskSql(text: string, dialect: SqlDialect, maxChars = 200): string {
  let out = '';
  let i = 0;
  const n = text.length;
  const isWordChar = (c: string | undefined) => c !== undefined && /[\w$]/.test(c);
  while (i < n) {
    const c = text[i] as string;
    const next = text[i + 1];
    // -- comment (MySQL wants a space after --; masking it either way is harmless) and # in MySQL
    if ((c === '-' && next === '-') || (c === '#' && dialect === 'mysql')) {
      while (i < n && text[i] !== '\n') i++;
      out += ' ';
      continue;
    }
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      out += ' ';
      continue;
    }
    // Quoted strings; "..." is a string in MySQL (without ANSI_QUOTES) and an identifier in PostgreSQL.
    if (c === "'" || (c === '"' && dialect === 'mysql')) {
      // A prefix glued to the literal (E'..', B'..', X'..', N'..', _utf8'..') belongs to it.
      const escapes = dialect === 'mysql' || /(?:^|[^\w$])[Ee]$/.test(out);
      out = out.replace(/(^|[^\w$])(?:[EeBbXxNn]|_\w+)$/, '$1');
      i = skipQuoted(text, i, c, escapes);
      out += '?';
      continue;
    }
    if (c === '$' && dialect === 'postgres' && !isWordChar(text[i - 1])) {
      const tag = /^\$([A-Za-z_]\w*)?\$/.exec(text.slice(i));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
        out += '?';
        continue;
      }
    }
    if (c === '`' || (c === '"' && dialect === 'postgres')) {
      // Quoted identifiers are kept as they are.
      const end = text.indexOf(c, i + 1);
      const stop = end < 0 ? n : end + 1;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (/[0-9]/.test(c) && !isWordChar(text[i - 1])) {
      const m = /^(?:0x[0-9a-fA-F]+|0b[01]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
      const len = m ? m[0].length : 1;
      if (!isWordChar(text[i + len]) || m?.[0].startsWith('0x')) {
        out += '?';
        i += len;
        continue;
      }
    }
    if (c === '.' && /[0-9]/.test(next ?? '') && !isWordChar(text[i - 1])) {
      const m = /^\.\d+(?:[eE][+-]?\d+)?/.exec(text.slice(i)) as RegExpExecArray;
      out += '?';
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  const collapsed = out.replace(/\s+/g, ' ').trim();
  return collapsed.length > maxChars ? `${collapsed.slice(0, maxChars - 1)}…` : collapsed;
}

/** Index after the closing quote; doubled quotes always escape, backslashes where the dialect says. */
function skipQuoted(text: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslash && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return text.length;
}
