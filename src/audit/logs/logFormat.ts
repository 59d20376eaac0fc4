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
  /**
   * Set for a line of a server error log: an event about a request (usually also in the access
   * log), not a request of its own. Counted per IP, never as a request.
   */
  event?: ErrorEvent;
}

/** What an error-log line says about a client. */
export interface ErrorEvent {
  kind: 'auth_failure' | 'rate_limited' | 'not_found' | 'waf' | 'other';
  /** The WAF rule id (ModSecurity `[id "942100"]`), for kind waf. */
  ruleId?: string;
  /** The WAF's message, cut, for kind waf. */
  message?: string;
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

// ---- Error logs ---------------------------------------------------------------------------

/** nginx: `2026/12/05 22:23:55 [error] 1#1: *17 open() "/x" failed (2: ...), client: 192.0.2.1, server: s, request: "GET /x HTTP/1.1", host: "h"` */
const NGINX_ERROR =
  /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*?), client: ([0-9a-fA-F:.]+)(?:, server: [^,]*)?(?:, request: "((?:[^"\\]|\\.)*)")?(?:, (?:upstream|host|referrer): .*)?$/;
/** Apache 2.4 `[Sat Dec 05 22:23:55.797842 2026] [core:info] [pid 1:tid 2] [client 192.0.2.1:0] AH00128: ...` and 2.2 `[Sat Dec 05 22:23:55 2026] [error] [client 192.0.2.1] ...` */
const APACHE_ERROR =
  /^\[\w{3} (\w{3}) (\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{4})\] \[([\w:]+)\](?: \[pid \d+(?::tid \d+)?\])?(?: [^[\]]*\(\d+\):?)? \[client ([^\]]+)\] (.*)$/;

function errorEvent(message: string): { event: ErrorEvent; path?: string } {
  // ModSecurity (Apache or nginx connector): the rule id, its message and the URI.
  if (message.includes('ModSecurity')) {
    const id = /\[id "(\d+)"\]/.exec(message)?.[1];
    const msg = /\[msg "((?:[^"\\]|\\.)*)"\]/.exec(message)?.[1];
    const uri = /\[uri "((?:[^"\\]|\\.)*)"\]/.exec(message)?.[1];
    return { event: { kind: 'waf', ruleId: id, message: msg?.slice(0, 160) }, path: uri };
  }
  if (
    /user .* (?:was )?not found|password mismatch|authentication failure|no user\/password was provided|AH0161[78]/i.test(
      message,
    )
  )
    return { event: { kind: /no user\/password was provided/i.test(message) ? 'other' : 'auth_failure' } };
  if (/limiting (?:requests|connections)/.test(message)) return { event: { kind: 'rate_limited' } };
  const missing =
    /(?:File does not exist|script not found or unable to stat|AH00128|AH01264): ([^,]+)/.exec(message) ??
    /open\(\) "([^"]+)" failed \(2: No such file/.exec(message) ??
    /"([^"]+)" is not found \(2: No such file/.exec(message);
  if (missing) return { event: { kind: 'not_found' }, path: missing[1] };
  return { event: { kind: 'other' } };
}

/** nginx error.log lines that name a client; other lines (start-up, worker notices) are not entries. */
export const parseNginxErrorLine: LineParser = (line) => {
  const m = NGINX_ERROR.exec(line);
  if (!m) return undefined;
  const { event, path } = errorEvent(m[8] as string);
  const request = m[10] ? unescape(m[10]) : '';
  const sp1 = request.indexOf(' ');
  const sp2 = request.lastIndexOf(' ');
  const time = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return {
    ip: m[9] as string,
    // nginx writes local time without a zone: read as UTC (the window is approximate for error logs).
    time,
    method: sp1 > 0 ? request.slice(0, sp1) : '',
    path: sp1 > 0 ? request.slice(sp1 + 1, sp2 > sp1 ? sp2 : undefined) : (path ?? ''),
    status: 0,
    bytes: 0,
    userAgent: '',
    referer: '',
    vhost: null,
    event,
  };
};

/** Apache error_log lines with a `[client ...]` field (2.2 and 2.4 layouts). */
export const parseApacheErrorLine: LineParser = (line) => {
  const m = APACHE_ERROR.exec(line);
  if (!m) return undefined;
  const month = MONTHS[m[1] as string];
  if (month === undefined) return undefined;
  // `192.0.2.1:51234`, `2001:db8::1:51234` (2.4 adds the port) or a bare address (2.2).
  let ip = m[8] as string;
  if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(ip) || (/:.*:.*:\d+$/.test(ip) && !ip.endsWith('::'))) {
    const cut = ip.replace(/:\d+$/, '');
    if (/^\d+\.\d+\.\d+\.\d+$/.test(cut) || cut.includes('::') || cut.split(':').length === 8) ip = cut;
  }
  const { event, path } = errorEvent(m[9] as string);
  return {
    ip,
    time: Date.UTC(+m[6]!, month, +m[2]!, +m[3]!, +m[4]!, +m[5]!),
    method: '',
    path: path ?? '',
    status: 0,
    bytes: 0,
    userAgent: '',
    referer: '',
    vhost: null,
    event,
  };
};

export type FormatName = PresetFormat | 'json' | 'nginx_error' | 'apache_error' | 'auto';

/** Error-log formats, beside the access-log presets. */
export const ERROR_FORMATS = ['nginx_error', 'apache_error'] as const;

/** The parser for a format name or custom LogFormat string. */
export function parserFor(format: string): LineParser {
  if (format === 'json') return parseJsonLine;
  if (format === 'nginx_error') return parseNginxErrorLine;
  if (format === 'apache_error') return parseApacheErrorLine;
  if (format in PRESET_FORMATS) return compileFormat(PRESET_FORMATS[format as PresetFormat]);
  return compileFormat(format);
}

/**
 * Picks the format that parses most of the sample lines (ties go to the richer format). Error
 * logs are recognised by their line heads, not by parsed entries: most of their lines (start-up
 * notices) name no client, yet the file is an error log.
 */
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
  if (best && best.hits * 2 >= lines.length) return best;
  const nginxHeads = lines.filter((l) =>
    /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} \[\w+\] \d+#\d+: /.test(l),
  ).length;
  if (nginxHeads * 2 >= lines.length) return { name: 'nginx_error', parser: parseNginxErrorLine };
  const apacheHeads = lines.filter((l) =>
    /^\[\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4}\] \[[\w:]+\]/.test(l),
  ).length;
  if (apacheHeads * 2 >= lines.length) return { name: 'apache_error', parser: parseApacheErrorLine };
  return undefined;
}
