/**
 * The .env / env_file format Compose reads for interpolation (compose-go's dotenv): `KEY=VALUE`,
 * an optional `export `, `#` comments, single quotes literal, double quotes with escapes, and
 * `${VAR}` in unquoted or double-quoted values expanded from keys defined earlier in the file.
 * Problems are reported by line number only: a line may hold a secret.
 */
import { type Env, interpolate } from './interpolate.js';

export interface Dotenv {
  vars: Map<string, string>;
  notes: string[];
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:[=:]\s*(.*))?$/;

export function parseDotenv(text: string, file: string, inherited: Env = new Map()): Dotenv {
  const vars = new Map<string, string>();
  const notes: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const scope = () => new Map([...inherited, ...vars]);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    const m = LINE.exec(line);
    if (!m) {
      notes.push(`${file}:${i + 1}: not a KEY=VALUE line, ignored`);
      continue;
    }
    const key = m[1] as string;
    let value = m[2];
    // `KEY` alone takes the value from the shell Compose runs in: this audit has none.
    if (value === undefined) continue;
    if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      vars.set(key, end > 0 ? value.slice(1, end) : value.slice(1));
    } else if (value.startsWith('"')) {
      // A double-quoted value may span lines until the closing quote.
      let body = value.slice(1);
      while (!/(^|[^\\])"/.test(body) && i + 1 < lines.length) body += `\n${lines[++i] ?? ''}`;
      const end = body.search(/(^|[^\\])"/);
      const inner = end < 0 ? body : body.slice(0, body[end] === '"' ? end : end + 1);
      const unescaped = inner.replace(/\\([nrt"\\$])/g, (_, c: string) =>
        c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c === '$' ? '$$' : c,
      );
      vars.set(key, interpolate(unescaped, scope()).value);
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
      vars.set(key, interpolate(value, scope()).value);
    }
  }
  return { vars, notes };
}
