/**
 * Per-request attack signatures, beside the behavioural score: one request can prove intent
 * (a worm's exploit, an injection probe) where rates and error ratios need many. Data-driven:
 * phrase lists from the OWASP Core Rule Set (./data/crs.ts) and known-exploit paths with their
 * advisories (./data/exploits.ts); the expressions here are the CRS rule families' ideas
 * (930 LFI, 931 RFI, 932 RCE, 933 PHP, 934 generic, 941 XSS, 942 SQLi, 944 Java) in a form that
 * runs on an access-log line: the method, the request target and the user agent.
 *
 * Fast path first: most requests are plain paths with no query and no special character, and
 * leave after two cheap tests. Pure: no I/O.
 */
import { LFI_OS_FILES, PHP_FUNCTIONS, SCANNER_USER_AGENTS, UNIX_SHELL } from './data/crs.js';
import { EXPLOIT_PATHS } from './data/exploits.js';
import { PhraseMatcher } from './phrases.js';

export const ATTACK_FAMILIES = [
  'exploit_path',
  'traversal',
  'encoding',
  'lfi',
  'rfi',
  'sqli',
  'xss',
  'command_injection',
  'code_injection',
  'proxy',
  'method',
  'oversized_uri',
  'spam',
] as const;
export type AttackFamily = (typeof ATTACK_FAMILIES)[number];

export interface SignatureHit {
  family: AttackFamily;
  /** Stable signature id, e.g. "sqli.union_select" or "iis.nimda". */
  signature: string;
  /**
   * exploit: the request is an attack on its own. anomaly: odd but seen from broken clients
   * (a WebDAV method on a plain site, a lower-case method): weak evidence.
   */
  strength: 'exploit' | 'anomaly';
  /** True when a 2xx answer to it means the attack may have worked (path-based exploits, open proxy). */
  successMatters: boolean;
}

const hit = (
  family: AttackFamily,
  signature: string,
  strength: SignatureHit['strength'] = 'exploit',
  successMatters = false,
): SignatureHit => ({ family, signature, strength, successMatters });

/** Methods browsers, APIs and crawlers send. */
const COMMON_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
/** Methods of WebDAV (RFC 4918, 5323): real DAV clients send them; with a huge URI they are the IIS overflow. */
const WEBDAV_METHODS = new Set([
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
  'REPORT',
]);
/** Methods only a probe sends: TRACE/TRACK for cross-site tracing, DEBUG for ASP.NET debugging. */
const PROBE_METHODS = new Set(['TRACE', 'TRACK', 'DEBUG']);
/** Past this a URI is an overflow attempt, not a link: browsers and servers keep to ~2-8 KiB, and
 * long single-sign-on redirects stay below it. */
const OVERSIZED_URI = 4096;
/** A WebDAV method with a URI this long is the IIS WebDAV (ntdll.dll) overflow, CVE-2003-0109. */
const WEBDAV_OVERFLOW_URI = 1000;

// ---- Compiled data -------------------------------------------------------------------------

const exploitPathRes = EXPLOIT_PATHS.map((e) => ({ ...e, re: new RegExp(e.pattern, 'i') }));
/** One union of every exploit path, tested first; the single patterns only name the match. */
const EXPLOIT_ANY = new RegExp(EXPLOIT_PATHS.map((e) => `(?:${e.pattern})`).join('|'), 'i');

const scannerUas = new PhraseMatcher(SCANNER_USER_AGENTS);
const lfiFiles = new PhraseMatcher(LFI_OS_FILES);
/** Every phrase of lfiPathFiles starts one of these after a "/": a cheap gate before the scan. */
const SYSTEM_DIR = /\/(?:etc|proc|sys|windows|winnt|var|usr)\/|\/boot[./]/i;
/** Every phrase of the CRS LFI list matches this (checked by a test): values without it skip the scan. */
export const LFI_GATE = /[./\\]|gitlab_config_|initial_root_password|program files|wp-config/i;
/** Private dot-files of the CRS list (shell histories, keys, credentials); .git/ and .svn/ stay probes. */
const lfiDotFiles = new PhraseMatcher(
  LFI_OS_FILES.filter(
    (p) => p.startsWith('.') && p.length > 4 && !/^\.(?:git|svn|hg|well-known|env)\b/i.test(p),
  ),
);
/** In a request path only system locations count: a dot-file name there is a probe (sensitivePaths). */
const lfiPathFiles = new PhraseMatcher(
  LFI_OS_FILES.filter(
    (p) => /^(?:etc|proc|sys|windows|winnt|boot|var\/log|usr\/local\/etc)\b/i.test(p) && p.length > 5,
  ),
);
const unixShell = new PhraseMatcher(UNIX_SHELL.filter((p) => p.includes('/')));
const phpFunctions = new PhraseMatcher(PHP_FUNCTIONS);

// ---- Expressions, tested on lower-cased, percent-decoded text ---------------------------------

type Rule = [string, RegExp];

const SQLI: Rule[] = [
  // "union select" followed by what a query selects (a list, NULL, a number, a function), not by
  // an English word: "union select committee" is a search, "union select null,2--" is not.
  [
    'sqli.union_select',
    /\bunion\b[\s(]*(?:all|distinct)?[\s(]*select\b\s*(?:[\d'"`@(*-]|null\b|0x|[\w.]+\s*(?:,|\(|\bfrom\b)|(?:user|version|database|schema|current_user)\b)/,
  ],
  [
    'sqli.tautology',
    /['"`)]\s*(?:or|and|xor|\|\||&&)\s*\(?\s*['"`]?[\w.]{0,64}['"`]?\s*(?:=|<>|!=|<=|>=|\blike\b|\bis\b|\brlike\b|\bregexp\b)|\b(?:or|and)\s+['"(]?\d+['")]?\s*(?:=|<>|<|>)\s*['"(]?\d+|\d\s+(?:or|and)\s+[\w.]+\s+(?:like|rlike|regexp)\s+['"]/,
  ],
  ['sqli.comment_terminator', /['"`)]\s*;?\s*(?:--(?:[\s-]|$)|#|\/\*)/],
  [
    'sqli.stacked_query',
    /;\s*(?:drop|insert|update|delete|create|alter|exec|execute|declare|shutdown|truncate)\s/,
  ],
  [
    'sqli.time_blind',
    /\b(?:sleep|benchmark|pg_sleep|dbms_pipe\.receive_message|randomblob)\s*\(|\bwaitfor\s+(?:delay|time)\b/,
  ],
  [
    'sqli.function',
    /\b(?:information_schema|sysobjects|syscolumns|pg_catalog|sqlite_master|mysql\.user|xp_cmdshell|load_file|into\s+(?:out|dump)file|@@version|extractvalue|updatexml|group_concat|utl_inaddr|ctxsys\.|make_set|elt\s*\(|procedure\s+analyse)|\b(?:concat(?:_ws)?|char|chr|ascii|substring|substr|mid|ord|hex|unhex)\(\s*(?:\d|0x|@|select\b|\()|\bcast\s*\(.{1,60}\bas\s+(?:char|varchar|int|signed|numeric|text)\b/,
  ],
  // English can "select X from Y where": a query needs SQL punctuation as well (see injection()).
  [
    'sqli.select_from',
    /\bselect\b[\s\S]{1,120}?\bfrom\b[\s\S]{0,120}?(?:\bwhere\b|--|#|\/\*|;|\bdual\b|\blimit\b|\)\s*(?:a|t|x)?\s*$)/,
  ],
  ['sqli.order_by_probe', /\border\s+by\s+\d+\s*(?:--|#|\/\*|$)|\bgroup\s+by\s+\d+\s*(?:--|#|having)/],
];
const SQL_PUNCTUATION = /['"`();=*@]|--|\/\*|0x/;
/** A value that is a number (or nothing) followed by a lone quote: the first question of every SQLi scanner. */
const SQLI_QUOTE_PROBE = /^-?\d*\s*['"`\\]+\)*\s*$/;

const XSS: Rule[] = [
  [
    'xss.tag',
    /<\s*\/?\s*(?:script|iframe|svg|img|body|object|embed|frameset|frame|style|link|meta|video|audio|details|marquee|math|base|isindex|xss|applet|textarea|keygen|plaintext|template|image|bgsound|layer|ilayer|xmp|animate|set|handler)\b/,
  ],
  [
    'xss.event_handler',
    /\bon(?:error|load|mouse\w+|focus\w*|blur|click|dblclick|key\w+|submit|change|toggle|animation\w+|transition\w+|pointer\w+|begin|start|resize|scroll|wheel|drag\w*|drop|input|invalid|unload|beforeunload|hashchange|message|pageshow|popstate|afterprint|beforeprint|copy|cut|paste|readystatechange|finish|bounce|play|ended)\s*=/,
  ],
  ['xss.script_uri', /(?:java|vb|live)script\s*:|data\s*:\s*text\/html|data:[^,]*;base64/],
  [
    'xss.js_call',
    /\b(?:alert|prompt|confirm)\s*(?:\(|`)|document\s*\.\s*(?:cookie|domain|write)|string\s*\.\s*fromcharcode|\beval\s*\(|\bexpression\s*\(|\.innerhtml\b|\bsrcdoc\s*=|<\s*a\s+[^>]{0,200}href\s*=/,
  ],
  ['xss.ssi', /<!--\s*#\s*(?:exec|include|echo|config)\b/],
];

const COMMAND: Rule[] = [
  [
    'cmd.shell_chain',
    /(?:[;|`]|&&|\$\()\s*(?:id|whoami|uname|cat|ls|pwd|wget|curl|nc|ncat|netcat|bash|sh|zsh|ping|nslookup|sleep|echo|perl|python[23]?|php|ruby|rm|chmod|busybox|tftp|ifconfig|ipconfig|systeminfo|powershell|cmd|dir|type|ver|net\s+user)(?:\s|$|[;|&`)<>])/,
  ],
  ['cmd.shellshock', /\(\)\s*\{\s*:?\s*;?\s*\}\s*;/],
  // A value that starts by ending a command: "; mshta ...", "| id", "&& curl ...", "$(...)"; not a
  // newline, which may start a message field (nor is a newline a separator in cmd.shell_chain).
  ['cmd.leading_separator', /^\s*(?:[;|`]|&&|\|\||\$\()\s*\$?[a-z]/],
  ['cmd.process_substitution', /<\(\s*[a-z]|\$\(\s*[a-z]+\s/],
  // Globs and brace expansion hiding a path or command: /etc/[m-z]asswd, /usr/[a-z]in/bash, {cd,/etc}.
  [
    'cmd.glob_evasion',
    /\/(?:etc|bin|usr|proc|var|tmp|dev)\/[\w/]{0,100}[[*?]|\{\s*,?\s*[a-z./]{1,100}\s*,[^}]{0,40}\}/,
  ],
  ['cmd.ifs', /\$\{?ifs\b|\$\{path:|\$\{home:/],
  ['cmd.windows', /\bcmd(?:\.exe)?\s*\/[ck]\b|\bpowershell(?:\.exe)?\s+-|\bcertutil\b.{0,40}-urlcache/],
];

const CODE: Rule[] = [
  ['code.php_tag', /<\?(?:php\b|=|\s|$)/],
  ['code.php_variable', /\$_(?:server|get|post|cookie|request|files|env|session|globals)\b|\$globals\s*\[/],
  [
    'code.stream_wrapper',
    /\b(?:php|zip|phar|expect|glob|data|file|dict|gopher|jar|netdoc|ssh2|compress\.zlib|compress\.bzip2):\/\//,
  ],
  ['code.log4shell', /\$\{\s*(?:jndi|\$\{|lower:|upper:|env:|sys:|::-|date:)/],
  [
    'code.template_injection',
    /\{\{\s*[\w.'"[\]]+\s*[*+]\s*[\w'"]+\s*\}\}|\{\{[^}]{0,80}(?:__class__|__globals__|__builtins__|self\._|request\.application|lipsum|cycler|joiner)|\$\{\s*\d+\s*\*\s*\d+\s*\}|#\{\s*\d+\s*\*\s*\d+\s*\}|<%=?\s*\d+\s*\*\s*\d+\s*%>/,
  ],
  [
    'code.node',
    /\brequire\s*\(\s*['"`]child_process|\bprocess\s*\.\s*(?:mainmodule|binding)\b|__proto__|\bconstructor\s*(?:\.|\[\s*['"`])\s*prototype/,
  ],
  ['code.java', /\bjava\.lang\.(?:runtime|processbuilder|system)\b|\bgetruntime\s*\(\s*\)\s*\.\s*exec/],
];

const CODE_IN_PATH = CODE.filter(([id]) => id !== 'code.stream_wrapper');

const RAW_ENCODING: Rule[] = [
  [
    'encoding.overlong_utf8',
    /%c0%(?:a[ef]|2[ef]|5c|80|9v|qf)|%c1%(?:9c|1c|8s|pc|af)|%e0%80%a[ef]|%f0%80%80%a[ef]|%fc%80%80%80%80%af/i,
  ],
  ['encoding.iis_unicode', /%u(?:002e|002f|005c|2215|2216|ff0e|ff0f|ff3c|0025|9090|00)/i],
  ['encoding.double', /%25(?:2e|2f|5c|27|22|3c|3e|00|c0|c1|e0|u00)/i],
  ['encoding.null_byte', /%00|\\x00|\\0(?:$|[^0-9])/i],
];

/** A run of one character this long is an overflow payload (Code Red's NNNN..., AAAA...). */
const OVERFLOW_RUN = /([^/\-_.=0])\1{199}/;
const SHELLCODE = /%u9090|(?:%90){8}|(?:\\x90){8}|(?:\\x[0-9a-f]{2}){16}/i;

const TRAVERSAL = /(?:^|[/\\=:;,])\.{2,}[/\\]|[/\\]\.{2,}(?:$|[?;#])|\.\.;\//;

/** Query parameter names an include or template takes: a remote URL there is an RFI attempt. */
/** Not url/redirect/next/ref/src/source/content: share and tracking links carry foreign URLs there. */
const RFI_PARAM =
  /^(?:\w*_)?(?:page|file|filename|include|inc|incl|template|tpl|path|dir|document|doc|root|folder|mod|module|conf|config|lang|language|layout|theme|skin|style|pg|base|basedir|abspath|mosconfig_absolute_path|document_root|globals)(?:_?\w*)?$/i;
const REMOTE_URL = /^(?:https?|ftps?|ldaps?|gopher|dict|tftp|jar|netdoc|rmi|dns|iiop):\/\/([^/?#:]+)/i;
const IP_HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\]|\d{8,10}|0x[0-9a-f]{8})$/i;

/** Characters that can start an injection; a request with none of them only gets the path checks. */
const SUSPECT_CHARS = /[<>'"`;|$(){}\\*!]|\.\.|:\/\/|%|\+|\bselect\b|\bunion\b|\bsleep\b/i;

// ---- Decoding --------------------------------------------------------------------------------

const HEX = /%([0-9a-f]{2})/gi;
const UNI = /%u([0-9a-f]{4})/gi;

/** Percent-decoding that never throws (bytes become Latin-1 characters): patterns are ASCII. */
function pctDecode(s: string): string {
  if (!s.includes('%')) return s;
  return s
    .replace(UNI, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(HEX, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Decoded twice (double encoding is an evasion), '+' as space in queries, SQL comments as space. */
export function normalise(s: string, query: boolean): string {
  let d = pctDecode(query ? s.replace(/\+/g, ' ') : s);
  if (/%[0-9a-f]{2}/i.test(d)) d = pctDecode(d);
  // HTML entities some payloads use (&#x3c; &lt;), only when present.
  if (d.includes('&#') || d.includes('&lt')) d = decodeEntities(d);
  d = d.toLowerCase();
  if (d.includes('/*')) d = d.replace(/\/\*!?\d*|\*\//g, ' ');
  return d;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]{1,6});?/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16) % 0x110000))
    .replace(/&#(\d{1,7});?/g, (_, d: string) => String.fromCodePoint(Number(d) % 0x110000))
    .replace(/&lt;?/gi, '<')
    .replace(/&gt;?/gi, '>')
    .replace(/&quot;?/gi, '"')
    .replace(/&apos;?/gi, "'");
}

function firstRule(rules: Rule[], text: string): string | undefined {
  for (const [id, re] of rules) if (re.test(text)) return id;
  return undefined;
}

/** A phrase counts when it starts the value or follows a path separator: "etc/passwd", "/bin/sh". */
function pathPhrase(m: PhraseMatcher, text: string): string | undefined {
  return m.find(text, (start, end) => {
    const before = start === 0 ? '' : text[start - 1];
    const after = text[end] ?? '';
    const startOk = before === '' || before === '/' || before === '\\' || before === '=' || before === ' ';
    const last = text[end - 1] ?? '';
    const endOk = !/[a-z0-9]/.test(last) || !/[a-z0-9_]/.test(after);
    return startOk && endOk;
  });
}

/** A phrase used as a function call: a name then "(". */
function callPhrase(m: PhraseMatcher, text: string): string | undefined {
  return m.find(text, (start, end) => {
    if (start > 0 && /[a-z0-9_]/.test(text[start - 1] ?? '')) return false;
    return /^\s*\(/.test(text.slice(end, end + 8));
  });
}

// ---- Matching --------------------------------------------------------------------------------

/** Injection checks on one decoded value (or a decoded path). */
function injection(v: string, isValue: boolean): SignatureHit | undefined {
  if (v.length < 2) return undefined;
  let id = firstRule(SQLI, v);
  if (id && (id !== 'sqli.select_from' || SQL_PUNCTUATION.test(v))) return hit('sqli', id);
  if (isValue && SQLI_QUOTE_PROBE.test(v) && /['"`\\]/.test(v)) return hit('sqli', 'sqli.quote_probe');
  if ((id = firstRule(XSS, v))) return hit('xss', id);
  if ((id = firstRule(COMMAND, v))) return hit('command_injection', id);
  // Stream wrappers only in values: a crawler following a broken template link asks for
  // /scripts/"file://$file/" (seen from MJ12bot in the elastic sample), which is no attack.
  if ((id = firstRule(isValue ? CODE : CODE_IN_PATH, v))) return hit('code_injection', id);
  const shell = pathPhrase(unixShell, v);
  if (shell && v.includes(`/${shell}`)) return hit('command_injection', `cmd.unix_shell:${shell}`);
  const fn = callPhrase(phpFunctions, v);
  if (fn) return hit('code_injection', `code.php_function:${fn}`);
  return undefined;
}

/**
 * The attack signature a request matches, or undefined. `target` is the request target as
 * logged (path and query, or an absolute URI, or host:port for CONNECT); `vhost` the logged
 * virtual host when the format has one (an absolute URI for it is not proxy abuse).
 */
export function matchRequest(method: string, target: string, vhost: string | null): SignatureHit | undefined {
  const upper = method.toUpperCase();
  if (upper === 'CONNECT') return hit('proxy', 'proxy.connect', 'exploit', true);
  if (!COMMON_METHODS.has(upper)) {
    if (PROBE_METHODS.has(upper)) return hit('method', `method.${upper.toLowerCase()}`);
    if (WEBDAV_METHODS.has(upper) && target.length > WEBDAV_OVERFLOW_URI)
      return hit('oversized_uri', 'method.webdav_overflow', 'exploit', true);
  }
  // Known exploits first: they name the attack (Code Red's URI is also an overflow run).
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const suspect = SUSPECT_CHARS.test(target);
  const path = suspect ? normalise(rawPath, false) : rawPath.toLowerCase();
  if (EXPLOIT_ANY.test(path) || (q >= 0 && EXPLOIT_ANY.test(suspect ? normalise(target, false) : target))) {
    const full = q >= 0 ? normalise(target, false) : path;
    for (const e of exploitPathRes) {
      if (e.method && e.method !== upper) continue;
      if (e.re.test(e.withQuery ? full : path)) return hit('exploit_path', e.id, 'exploit', true);
    }
  }
  if (target.length > OVERSIZED_URI) return hit('oversized_uri', 'uri.oversized');
  if (target.length > 200 && OVERFLOW_RUN.test(target)) return hit('oversized_uri', 'uri.overflow_run');
  if (target.length > 0 && target[0] !== '/') {
    const abs = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(target);
    if (abs) {
      const host = (abs[2] ?? '').replace(/^.*@/, '').replace(/:\d+$/, '').toLowerCase();
      if (!vhost || host !== vhost.toLowerCase()) return hit('proxy', 'proxy.absolute_uri', 'exploit', true);
    }
  }
  if (suspect) {
    const enc = firstRule(RAW_ENCODING, target);
    if (enc) return hit('encoding', enc, 'exploit', true);
    if (SHELLCODE.test(target)) return hit('oversized_uri', 'uri.shellcode');
    if (TRAVERSAL.test(path) || (q >= 0 && TRAVERSAL.test(normalise(target.slice(q + 1), true))))
      return hit('traversal', 'traversal.dot_dot', 'exploit', true);
    const inPath = injection(path, false);
    if (inPath) return inPath;
  }
  const sys = SYSTEM_DIR.test(path) ? pathPhrase(lfiPathFiles, path) : undefined;
  if (sys && path.includes(`/${sys}`)) return hit('lfi', `lfi.os_file_path:${sys}`, 'exploit', true);
  // A user's or a tool's private file asked for by name: /.bash_history, /.ssh/known_hosts, /.htpasswd.
  if (path.includes('/.')) {
    const dot = pathPhrase(lfiDotFiles, path);
    if (dot) return hit('lfi', `lfi.restricted_file:${dot}`, 'exploit', true);
  }
  if (q >= 0 && q < target.length - 1) {
    const query = target.slice(q + 1);
    for (const pair of query.split('&')) {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? '' : pair.slice(0, eq);
      const rawValue = eq < 0 ? pair : pair.slice(eq + 1);
      if (rawValue === '') continue;
      const value = normalise(rawValue, true);
      const remote = REMOTE_URL.exec(value);
      if (remote) {
        const host = (remote[1] ?? '').replace(/^.*@/, '');
        if (IP_HOST.test(host)) return hit('rfi', 'rfi.ip_address_url');
        if (value.endsWith('?')) return hit('rfi', 'rfi.trailing_question_mark');
        if (
          pctDecode(name)
            .split(/[[\]]+/)
            .some((part) => part !== '' && RFI_PARAM.test(part)) &&
          (!vhost || host !== vhost.toLowerCase())
        )
          return hit('rfi', 'rfi.include_parameter');
      }
      // Plain words skip the scan: every CRS LFI phrase passes LFI_GATE.
      const lfi = LFI_GATE.test(value) ? pathPhrase(lfiFiles, value) : undefined;
      if (lfi) return hit('lfi', `lfi.os_file:${lfi}`);
      if (!suspect && !/[<>'"`;|$(){}\\*]/.test(value)) continue;
      const inj =
        injection(value, true) ?? (name.length > 2 ? injection(normalise(name, true), false) : undefined);
      if (inj) return inj;
    }
  }
  if (!COMMON_METHODS.has(upper)) {
    if (WEBDAV_METHODS.has(upper)) return hit('method', `method.webdav:${upper.toLowerCase()}`, 'anomaly');
    if (/^[A-Z][A-Z_-]{1,19}$/.test(upper)) return hit('method', 'method.unknown', 'anomaly');
    return hit('method', 'method.malformed', 'anomaly');
  }
  // A lower-case "get": no browser or library sends one (methods are case-sensitive, RFC 9110).
  if (upper !== method) return hit('method', 'method.lower_case', 'anomaly');
  return undefined;
}

/** Attack payloads carried in the User-Agent (or Referer): Shellshock, Log4Shell, injections. */
const UA_RULES: Rule[] = [
  ['cmd.shellshock', /\(\)\s*\{\s*:?\s*;?\s*\}\s*;/],
  ['code.log4shell', /\$\{\s*(?:jndi|\$\{|lower:|upper:|env:|sys:|::-|date:)/],
  ['code.php_tag', /<\?(?:php\b|=)/],
  ['xss.tag', /<\s*\/?\s*(?:script|iframe|svg|img|body)\b/],
  ['xss.js_call', /\b(?:alert|prompt|confirm)\s*\(/],
  ['sqli.union_select', /\bunion\b[\s(]*(?:all|distinct)?[\s(]*select\b/],
  ['sqli.time_blind', /\b(?:sleep|benchmark|pg_sleep)\s*\(\s*\d|\bwaitfor\s+delay\b/],
  ['sqli.tautology', /['"`]\s*(?:or|and)\s*['"`]?\w*['"`]?\s*=\s*['"`]?\w|['"`]\s*;?\s*--/],
  ['cmd.substitution', /\$\([a-z]|`[a-z]+\s[^`]*`/],
];

const UA_FAMILY: Record<string, AttackFamily> = {
  cmd: 'command_injection',
  code: 'code_injection',
  xss: 'xss',
  sqli: 'sqli',
};

/** Payloads in a header value (User-Agent, Referer). Callers cache by value. */
export function matchHeader(value: string): SignatureHit | undefined {
  if (value.length < 6) return undefined;
  const v = value.toLowerCase();
  const id = firstRule(UA_RULES, v);
  return id ? hit(UA_FAMILY[id.slice(0, id.indexOf('.'))] ?? 'code_injection', `header.${id}`) : undefined;
}

/** The scanner a user agent names, from the CRS scanner list (Nikto, sqlmap, Nmap NSE ...), or undefined. */
export function scannerOf(ua: string): string | undefined {
  const lower = ua.toLowerCase();
  return scannerUas.find(lower, (start, end) => {
    // A phrase inside a longer word ("vega" in "Vegas") is not the tool.
    const before = start === 0 ? ' ' : (lower[start - 1] ?? ' ');
    const after = lower[end] ?? ' ';
    return !/[a-z]/.test(before) && !/[a-z]/.test(after);
  });
}
