/**
 * Secrets written into `command:`, `entrypoint:` and `healthcheck.test:`: a literal password
 * after a client's password flag (`mysqladmin -pexample`, `sqlcmd -P example_123`,
 * `redis-cli -a pw`, `--password=pw`), a secret-named variable assigned in a shell line
 * (`PGPASSWORD=pw psql`), or a URL with a password. Such values end up in `docker inspect`,
 * `ps` and often in logs. Only the flag or variable is reported, never the value; references
 * (`$$VAR`, `${VAR}`) and secret files are not literals and are left alone.
 */
import { literalPart } from './interpolate.js';
import { get, type LNode, type LScalar } from './nodes.js';
import { looksSecretKey, URL_WITH_PASSWORD } from './secrets.js';

export interface CommandSecret {
  /** command, entrypoint or healthcheck test. */
  where: string;
  /** The flag or variable that carries the value, e.g. `-p` (mysqladmin), `PGPASSWORD`. */
  carrier: string;
  node: LScalar;
}

/** Short password flags are program-specific: `-p` is a port for most tools, a password for these. */
const SHORT_FLAGS: Array<{ programs: RegExp; flag: string; attached: boolean; separate: boolean }> = [
  // MySQL/MariaDB clients take the password only attached (-ppw); `-p pw` prompts and pw is a database.
  {
    programs:
      /^(mysql|mysqladmin|mysqldump|mysqlcheck|mysqlshow|mysqlimport|mysqlpump|mysqlslap|mariadb|mariadb-admin|mariadb-dump|mariadb-check|mariadb-show|mariadb-import)$/,
    flag: '-p',
    attached: true,
    separate: false,
  },
  { programs: /^(sqlcmd|bcp)$/, flag: '-P', attached: true, separate: true },
  { programs: /^(redis-cli|valkey-cli|keydb-cli)$/, flag: '-a', attached: false, separate: true },
  {
    programs:
      /^(mongo|mongosh|mongodump|mongorestore|mongoexport|mongoimport|mongostat|mongotop|cqlsh|cypher-shell)$/,
    flag: '-p',
    attached: false,
    separate: true,
  },
  { programs: /^(curl)$/, flag: '-u', attached: true, separate: true },
  { programs: /^(influx)$/, flag: '-password', attached: false, separate: true },
];
const PROGRAMS = new RegExp(SHORT_FLAGS.map((s) => s.programs.source).join('|'));

/** Long options that carry a secret in any program (`--password`, `--db-password`, `--requirepass`). */
const LONG_SECRET =
  /^--?([a-z0-9]+[-_])*(password|passwd|pass|pwd|secret|token|api[-_]?key|access[-_]?key|secret[-_]?key|requirepass|masterauth|client[-_]?secret|private[-_]?key)$/i;
/** Long options naming where a secret is, not the secret (`--password-file`, `--token-env`). */
const LONG_SETTING =
  /[-_](file|path|dir|env|stdin|prompt|length|min|max|policy|type|mode|header|ttl|timeout)$/i;
/** Values that are not secrets: flags, booleans, obvious stand-ins. */
const NOT_A_VALUE = /^(true|false|yes|no|on|off|none|null|-.*)$/i;
const SEPARATORS = new Set([';', '&&', '||', '|', '&', '(', ')', '{', '}', 'then', 'do', 'else']);

/** Shell-like words: quotes grouped, separators split off. Enough to find flags; nothing is run. */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  const push = () => {
    if (any) out.push(cur);
    cur = '';
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (/\s/.test(c)) push();
    else if (c === ';' || c === '|' || c === '&') {
      push();
      let op = c;
      while (text[i + 1] === c) op += text[++i];
      out.push(op);
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      any = true;
    } else {
      cur += c;
      any = true;
    }
  }
  push();
  return out;
}

/** What is written as a value, references removed; '' when the value is only a reference. */
function literal(value: string): string {
  // Command substitution ($(cat /run/secrets/x), `...`) reads the secret at run time: not a literal.
  if (/\$\$?\(|`/.test(value)) return '';
  // `$$VAR` is Compose's escape for the container shell's `$VAR`: a reference too.
  const v = value.replace(/\$\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '');
  const l = literalPart(v)
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '')
    .trim();
  if (l === '' || /^\/run\/secrets\//.test(l) || NOT_A_VALUE.test(l)) return '';
  return l;
}

function base(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

interface Word {
  w: string;
  /** The scalar the word came from: where a finding points. */
  node: LScalar;
}

/** Secrets in one argv (already split into words). */
function scanWords(input: Word[], where: string, out: CommandSecret[]): void {
  // A quoted word with spaces (`sh -c "..."`, `bash -lc '...'`) is a command line of its own.
  const words: Word[] = [];
  for (const x of input) {
    if (/\s/.test(x.w.trim())) {
      words.push({ w: ';', node: x.node });
      for (const w of shellWords(x.w)) words.push({ w, node: x.node });
      words.push({ w: ';', node: x.node });
    } else words.push(x);
  }
  let program: string | null = null;
  let atCommandStart = true;
  const hit = (carrier: string, node: LScalar) => {
    if (!out.some((h) => h.node === node && h.carrier === carrier)) out.push({ where, carrier, node });
  };
  for (let i = 0; i < words.length; i++) {
    const { w, node } = words[i] as Word;
    if (SEPARATORS.has(w)) {
      program = null;
      atCommandStart = true;
      continue;
    }
    // NAME=value before a command, or after env/export: a variable for that command.
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(w);
    if (assign && (atCommandStart || program === 'env' || program === 'export')) {
      if (looksSecretKey(assign[1] as string) && literal(assign[2] as string) !== '')
        hit(assign[1] as string, node);
      continue;
    }
    if (URL_WITH_PASSWORD.test(w.replace(/^[^=]*=/, '')) && literal(w) !== '') {
      hit('a URL with a password', node);
      continue;
    }
    if ((atCommandStart || PROGRAMS.test(base(w))) && !w.startsWith('-')) {
      program = base(w);
      atCommandStart = false;
      continue;
    }
    const eq = w.indexOf('=');
    const name = eq > 0 ? w.slice(0, eq) : w;
    if (name.startsWith('--') && LONG_SECRET.test(name) && !LONG_SETTING.test(name)) {
      const next = words[i + 1];
      const value = eq > 0 ? { w: w.slice(eq + 1), node } : next;
      if (value && !SEPARATORS.has(value.w) && literal(value.w) !== '') {
        hit(`${name} (${program ?? 'command'})`, value.node);
        if (eq < 0) i++;
      }
      continue;
    }
    const short = program
      ? SHORT_FLAGS.find((s) => s.programs.test(program as string) && w.startsWith(s.flag))
      : undefined;
    if (!short) continue;
    const attached = w.length > short.flag.length ? w.slice(short.flag.length) : undefined;
    let value: Word | undefined;
    if (attached !== undefined && short.attached && !attached.startsWith('-')) value = { w: attached, node };
    else if (attached === undefined && short.separate) value = words[i + 1];
    // curl -u user:password: only the part after the colon is the secret.
    if (value && short.flag === '-u')
      value = { ...value, w: value.w.includes(':') ? value.w.slice(value.w.indexOf(':') + 1) : '' };
    if (value && !SEPARATORS.has(value.w) && literal(value.w) !== '') {
      hit(`${short.flag} (${program})`, value.node);
      if (attached === undefined) i++;
    }
  }
}

/** Scans a service's command, entrypoint and healthcheck test. */
export function commandSecrets(service: LNode): CommandSecret[] {
  const out: CommandSecret[] = [];
  const fields: Array<[string, LNode | undefined]> = [
    ['command', get(service, 'command')],
    ['entrypoint', get(service, 'entrypoint')],
    ['healthcheck test', get(service, 'healthcheck', 'test')],
  ];
  for (const [where, node] of fields) {
    const words: Word[] = [];
    if (node?.kind === 'scalar' && node.value !== null) {
      for (const w of shellWords(node.raw ?? String(node.value))) words.push({ w, node });
    } else if (node?.kind === 'seq') {
      // Exec form: each item is one argument; a shell string inside (sh -c "...", CMD-SHELL) is
      // a command line of its own and is split again.
      for (const it of node.items) {
        if (it.kind !== 'scalar' || it.value === null) continue;
        const text = it.raw ?? String(it.value);
        if (/^(CMD|CMD-SHELL|NONE)$/.test(text)) continue;
        words.push({ w: text, node: it });
      }
    }
    scanWords(words, where, out);
  }
  return out;
}
