/**
 * Access-log line parsing. Every text format, the presets included, is an Apache LogFormat
 * string compiled once to a regular expression, so a custom format is as fast and as tested as
 * a preset. JSON lines are read by field names common to nginx/Caddy/Traefik JSON logs.
 */

export interface LogEntry {
  ip: string;
  /** Epoch ms; NaN when the line had no parsable time. */
  time: number;
  method: string;
  path: string;
  status: number;
  bytes: number;
  userAgent: string;
  referer: string;
  /** The virtual host, when the format carries one. */
  vhost: string | null;
}

export type LineParser = (line: string) => LogEntry | undefined;

/** Presets as Apache LogFormat strings (nginx's default "combined" is the same layout). */
export const PRESET_FORMATS = {
  combined: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
  common: '%h %l %u %t "%r" %>s %b',
  vhost_combined: '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
  nginx: '%h - %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
} as const;
export type PresetFormat = keyof typeof PRESET_FORMATS;

type Field = 'ip' | 'time' | 'request' | 'status' | 'bytes' | 'ua' | 'referer' | 'vhost' | 'skip';

/** A quoted field: anything but an unescaped quote (Apache escapes " as \" in %r and headers). */
const QUOTED = '((?:[^"\\\\]|\\\\.)*)';
const TOKEN = '(\\S+)';

/**
 * Compiles an Apache LogFormat string (`%h %l %u %t "%r" %>s %b` ...). Directives it does not
 * know match one non-space token (or a quoted run inside quotes) and are skipped.
 * Throws with the offending directive on a format it cannot compile.
 */
export function compileFormat(format: string): LineParser {
  const fields: Field[] = [];
  let re = '^';
  let i = 0;
  let inQuotes = false;
  // Two directives with nothing between them, or two in one quoted section, make patterns that
  // can match a line many ways: a regex engine may then backtrack for minutes on one line.
  let lastWasDirective = false;
  let directivesInQuotes = 0;
  let lastWasSpace = false;
  while (i < format.length) {
    const c = format[i] as string;
    if (c !== '%') {
      if (c === '"') {
        inQuotes = !inQuotes;
        directivesInQuotes = 0;
      }
      lastWasDirective = false;
      // Spaces can do the same. Outside quotes a run of them is one ` +`: `'%h   %r'` as
      // ` + + +` splits a long run of spaces in cubically many ways (10 s for one 3 KB line).
      // Inside quotes a space is one space: the quoted field's pattern takes spaces too, and
      // ` +` beside it backtracks quadratically (0.4 s per 16 KiB line).
      if (c === ' ') {
        if (inQuotes) re += ' ';
        else if (!lastWasSpace) re += ' +';
      } else re += escapeRe(c);
      lastWasSpace = c === ' ' && !inQuotes;
      i++;
      continue;
    }
    lastWasSpace = false;
    const m = /^%[<>]?(?:\{([^}]*)\})?([a-zA-Z%])/.exec(format.slice(i));
    if (!m) throw new Error(`cannot read the directive at "${format.slice(i, i + 12)}"`);
    i += m[0].length;
    const arg = (m[1] ?? '').toLowerCase();
    const d = m[2] as string;
    if (d === '%') {
      re += '%';
      lastWasDirective = false;
      continue;
    }
    if (lastWasDirective) throw new Error(`put a separator between directives (at "${m[0]}")`);
    if (inQuotes && ++directivesInQuotes > 1)
      throw new Error(`one directive per quoted field (at "${m[0]}")`);
    lastWasDirective = true;
    let field: Field = 'skip';
    let pattern = inQuotes ? QUOTED : TOKEN;
    if (d === 'h' || d === 'a') field = 'ip';
    else if (d === 't') {
      field = 'time';
      pattern = arg ? TOKEN : '\\[([^\\]]+)\\]';
    } else if (d === 'r') {
      field = 'request';
      pattern = inQuotes ? QUOTED : '(\\S+ \\S+(?: \\S+)?)';
    } else if (d === 's') {
      field = 'status';
      pattern = '(\\d{3})';
    } else if (d === 'b' || d === 'B' || d === 'O') {
      field = 'bytes';
      pattern = '(\\d+|-)';
    } else if (d === 'v' || d === 'V') {
      field = 'vhost';
      pattern = '([^\\s:]+)';
    } else if (d === 'i' && arg === 'user-agent') field = 'ua';
    else if (d === 'i' && arg === 'referer') field = 'referer';
    else if (d === 'i' && arg === 'host') field = 'vhost';
    fields.push(field);
    re += pattern;
  }
  if (!fields.includes('ip') || !fields.includes('request'))
    throw new Error('the format must contain %h (or %a) and %r');
  const regex = new RegExp(`${re}`);
  const at = (f: Field) => fields.indexOf(f) + 1;
  const [iIp, iTime, iReq, iStatus, iBytes, iUa, iRef, iHost] = (
    ['ip', 'time', 'request', 'status', 'bytes', 'ua', 'referer', 'vhost'] as Field[]
  ).map(at) as number[];
  return (line) => {
    const m = regex.exec(line);
    if (!m) return undefined;
    const request = unescape(m[iReq as number] ?? '');
    const sp1 = request.indexOf(' ');
    const sp2 = request.indexOf(' ', sp1 + 1);
    const bytes = iBytes ? m[iBytes] : undefined;
    return {
      ip: m[iIp as number] as string,
      time: iTime ? parseApacheTime(m[iTime] as string) : Number.NaN,
      method: sp1 > 0 ? request.slice(0, sp1) : '',
      path: sp1 > 0 ? request.slice(sp1 + 1, sp2 > sp1 ? sp2 : undefined) : request,
      status: iStatus ? Number(m[iStatus]) : 0,
      // 400 digits of %b are Infinity, which no JSON answer can carry.
      bytes: bytes && bytes !== '-' ? count(bytes) : 0,
      userAgent: iUa ? unescape(m[iUa] ?? '') : '',
      referer: iRef ? unescape(m[iRef] ?? '') : '',
      vhost: iHost ? (m[iHost] ?? null) : null,
    };
  };
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
}

function unescape(s: string): string {
  return s.includes('\\') ? s.replace(/\\(["\\])/g, '$1') : s;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** `10/Oct/2000:13:55:36 -0700` to epoch ms, without building a Date string per line. */
export function parseApacheTime(s: string): number {
  const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.\d+)? ([+-])(\d{2})(\d{2})$/.exec(s);
  const month = m ? MONTHS[m[2] as string] : undefined;
  if (!m || month === undefined) return Number.NaN;
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000;
  return m[7] === '+' ? utc - offset : utc + offset;
}

const pick = (o: Record<string, unknown>, keys: string[]): unknown => {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null && o[k] !== '') return o[k];
  return undefined;
};

/** A JSON value as text: strings as they are, finite numbers printed; objects, arrays, booleans are not text. */
const asText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/** The first of `keys` whose value is non-empty text. */
const pickText = (o: Record<string, unknown>, keys: string[]): string | undefined => {
  for (const k of keys) {
    const v = asText(o[k]);
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
};

/** A size from a log field: a finite, non-negative number, else 0 (1e400 is Infinity). */
function count(v: unknown): number {
  const n = typeof v === 'number' || typeof v === 'string' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** An HTTP status from a log field: a whole number 100-999, else 0 (unknown). */
function statusCode(v: unknown): number {
  const n = count(v);
  return Number.isInteger(n) && n >= 100 && n <= 999 ? n : 0;
}

/** Epoch ms a Date can hold (toISOString throws beyond +-8.64e15), else NaN. */
const MAX_TIME_MS = 8.64e15;
const dateRange = (ms: number): number => (Math.abs(ms) <= MAX_TIME_MS ? ms : Number.NaN);

/** One JSON object per line, with the field names nginx, Caddy and Traefik JSON logs use. */
export const parseJsonLine: LineParser = (line) => {
  if (!line.startsWith('{')) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  // Caddy nests the request.
  const req = (typeof o.request === 'object' && o.request ? o.request : {}) as Record<string, unknown>;
  const headers = (req.headers ?? {}) as Record<string, unknown>;
  const header = (name: string) => {
    const v = headers[name];
    return asText(Array.isArray(v) ? v[0] : v);
  };
  const ip =
    pick(o, ['remote_addr', 'client_ip', 'ip', 'ClientHost', 'remote_ip']) ??
    pick(req, ['remote_ip', 'client_ip']);
  if (typeof ip !== 'string') return undefined;
  // Fields of the wrong type (an object for a host, a number past Date's range for a time) are
  // left out, not passed on: one odd line must not sink the analysis of a whole file.
  let method = pickText(o, ['method', 'request_method', 'RequestMethod']) ?? pickText(req, ['method']) ?? '';
  let path = pickText(o, ['uri', 'request_uri', 'path', 'RequestPath']) ?? pickText(req, ['uri']) ?? '';
  const request = pick(o, ['request']);
  if (typeof request === 'string' && !path) {
    const parts = request.split(' ');
    method ||= parts[0] ?? '';
    path = parts[1] ?? '';
  }
  const t = pick(o, ['time_iso8601', 'time', 'timestamp', 'ts', '@timestamp', 'time_local', 'StartUTC']);
  let time = Number.NaN;
  if (typeof t === 'number') time = dateRange(t > 1e12 ? t : t * 1000);
  else if (typeof t === 'string') time = /^\d{2}\/\w{3}\//.test(t) ? parseApacheTime(t) : Date.parse(t);
  return {
    ip,
    time,
    method,
    path,
    status: statusCode(pick(o, ['status', 'DownstreamStatus', 'response_status'])),
    bytes: count(pick(o, ['body_bytes_sent', 'bytes_sent', 'size', 'bytes', 'DownstreamContentSize'])),
    userAgent:
      pickText(o, ['http_user_agent', 'user_agent', 'userAgent', 'request_User-Agent']) ??
      header('User-Agent') ??
      '',
    referer: pickText(o, ['http_referer', 'referer', 'request_Referer']) ?? header('Referer') ?? '',
    vhost: pickText(o, ['host', 'server_name', 'vhost', 'RequestHost']) ?? pickText(req, ['host']) ?? null,
  };
};

export type FormatName = PresetFormat | 'json' | 'auto';

/** The parser for a format name or custom LogFormat string. */
export function parserFor(format: string): LineParser {
  if (format === 'json') return parseJsonLine;
  if (format in PRESET_FORMATS) return compileFormat(PRESET_FORMATS[format as PresetFormat]);
  return compileFormat(format);
}

/** Picks the format that parses most of the sample lines (ties go to the richer format). */
export function detectFormat(sample: string[]): { name: string; parser: LineParser } | undefined {
  const lines = sample.filter((l) => l.trim() !== '');
  if (lines.length === 0) return undefined;
  const candidates: string[] = ['json', 'vhost_combined', 'combined', 'common'];
  let best: { name: string; parser: LineParser; hits: number } | undefined;
  for (const name of candidates) {
    const parser = parserFor(name);
    const hits = lines.filter((l) => parser(l) !== undefined).length;
    if (hits > 0 && (!best || hits > best.hits)) best = { name, parser, hits };
  }
  return best && best.hits * 2 >= lines.length ? best : undefined;
}
