/**
 * What the audit log keeps of a tool call's arguments (docs/security.md, "Audit log"):
 * enough to see what was asked, never a secret and never a file path.
 * - a value under a key that names a secret (password, token, key, secret, auth, cookie,
 *   credential, private) becomes "[redacted]", whatever it is;
 * - a string that looks like a credential (a JWT, an API key, a long unbroken random-looking
 *   token, a PEM block) becomes "[redacted]";
 * - a string that looks like a path becomes "[path]";
 * - URLs keep scheme, host, port and path: user info, query and fragment are dropped;
 * - strings are cut at 120 characters, arrays at 20 items, nesting at 4 levels.
 */
const SECRET_KEY = /pass|secret|token|key|auth|cookie|credential|private|session/i;
const MAX_STRING = 120;
const MAX_ITEMS = 20;
const MAX_DEPTH = 4;

export function digestArgs(args: unknown): unknown {
  return digest(args, 0);
}

function digest(v: unknown, depth: number): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return digestString(v);
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ITEMS).map((x) => digest(x, depth + 1));
    return v.length > MAX_ITEMS ? [...items, `[+${v.length - MAX_ITEMS} more]`] : items;
  }
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, MAX_ITEMS * 2))
      out[k.slice(0, 64)] = SECRET_KEY.test(k) ? '[redacted]' : digest(x, depth + 1);
    return out;
  }
  return `[${typeof v}]`;
}

function digestString(s: string): string {
  if (looksLikeCredential(s)) return '[redacted]';
  if (/^(\/|~|\.\.?\/|[A-Za-z]:\\)/.test(s) || s.includes('/../')) return '[path]';
  // WHATWG URLs also parse "https:user:pw@host", "https:\\user:pw@host", "HTTPS:/user:pw@host".
  if (/^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && s.includes('@'))
    return '[redacted]';
  const url = safeUrl(s);
  if (url)
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`.slice(0, MAX_STRING);
  return s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s;
}

function looksLikeCredential(s: string): boolean {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s)) return true;
  if (/^eyJ[\w-]+\.[\w-]+\.[\w-]*$/.test(s)) return true; // JWT
  if (/^sam_/.test(s)) return true; // our API keys
  // 32+ characters of one unbroken token mixing letters and digits: keys, hashes, passwords.
  return s.length >= 32 && /^[\w+/=-]+$/.test(s) && /\d/.test(s) && /[A-Za-z]/.test(s);
}

function safeUrl(s: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return undefined;
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/**
 * For free text headed to a log (a tool error repeats what the caller sent): URLs lose their
 * user info, query and fragment, where credentials travel.
 */
export function redactUrlsInText(text: string): string {
  return text.replace(
    // User info runs to the last "@" of the token: "https://alice:p@ss@host" loses all of it.
    /\b([a-z][a-z0-9+.-]*:\/\/)(?:\S*@)?([^\s/?#@]*)([^\s?#]*)(?:[?#]\S*[^\s:,.;)])?/gi,
    '$1$2$3',
  );
}
