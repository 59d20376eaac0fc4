import { fingerprint, redact } from './fingerprint.js';
import { genericCandidates } from './generic.js';
import { isExampleToken, isPlaceholder } from './placeholders.js';
import { GENERIC_RULE, PRIVATE_KEY_RULE, TOKEN_RULES } from './rules.js';

/** One secret found in a text. The secret itself is not in it: only its fingerprint and preview. */
export interface SecretMatch {
  ruleId: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  fingerprint: string;
  preview: string;
}

export interface ScanTextOptions {
  /** Shannon entropy (bits per character) a generic assignment's value needs. */
  entropyThreshold: number;
  /** Matches kept per text; more are counted in `dropped`. */
  maxMatches: number;
}

export interface ScanTextResult {
  matches: SecretMatch[];
  /** Lines skipped because they carry an `audit:allow` or `pragma: allowlist secret` comment and would have matched. */
  inlineAllowed: number;
  dropped: number;
}

/** Writing `audit:allow` in a comment on a line keeps its matches out of the report. */
export const INLINE_ALLOW = 'audit:allow';
/** detect-secrets' inline allow comment (`# pragma: allowlist secret`), honoured the same way. */
const PRAGMA_ALLOW = /pragma:\s*allowlist[ -]secret/i;

function hasInlineAllow(line: string): boolean {
  return line.includes(INLINE_ALLOW) || PRAGMA_ALLOW.test(line);
}

const KEY_BEGIN = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----/;
const KEY_END = /-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----/;
/** Armor headers inside a block (Proc-Type, DEK-Info, PGP's Version/Comment). */
const KEY_HEADER = /^[A-Za-z-]+: /;
const BASE64_LINE = /^[A-Za-z0-9+/=]+$/;
/** Real keys have hundreds of base64 characters; `-----BEGIN ... KEY-----` in code has none. */
const MIN_KEY_BODY = 64;
const MAX_KEY_LINES = 400;

/** Text with a NUL byte in its first 8 KiB is binary (git and grep use the same sniff). */
export function looksBinary(head: Uint8Array): boolean {
  return head.subarray(0, 8192).includes(0);
}

/**
 * Finds the secrets in one file's text, line by line. Private keys are the one multi-line
 * shape: the block's base64 body is the secret (so two keys differ in fingerprint), reported at
 * its BEGIN line. A line with `audit:allow` or `pragma: allowlist secret` on it is skipped.
 */
export function scanText(text: string, opts: ScanTextOptions): ScanTextResult {
  const matches: SecretMatch[] = [];
  let inlineAllowed = 0;
  let dropped = 0;
  const add = (ruleId: string, line: number, column: number, secret: string) => {
    if (matches.length >= opts.maxMatches) {
      dropped++;
      return;
    }
    matches.push({ ruleId, line, column, fingerprint: fingerprint(ruleId, secret), preview: redact(secret) });
  };

  let key: { line: number; column: number; body: string; lines: number } | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNo = i + 1;

    if (key) {
      const t = line.trim().replace(/^["']|["'],?$|\\n["']?\s*\+?$/g, '');
      const ended = KEY_END.test(line);
      if (!ended && (t === '' || KEY_HEADER.test(t))) continue; // blank or an armor header
      // PEM and OpenSSH bodies come in lines of 64-76 characters; a short first "line" is a word.
      const fits = BASE64_LINE.test(t) && (key.lines > 0 || t.length >= 40);
      if (!ended && fits && key.lines < MAX_KEY_LINES) {
        key.body += t;
        key.lines++;
        continue;
      }
      // The END line, or a line that is not base64 (then the marker was in code, or the block
      // was cut): report what looks like a key, and scan this line as any other.
      if (key.body.length >= MIN_KEY_BODY) add(PRIVATE_KEY_RULE.id, key.line, key.column, key.body);
      key = null;
    }

    const hits = scanLine(line, opts.entropyThreshold);
    const begin = KEY_BEGIN.exec(line);
    if (hasInlineAllow(line)) {
      if (hits.length > 0 || begin) inlineAllowed++;
      continue;
    }
    for (const h of hits) add(h.ruleId, lineNo, h.start + 1, h.secret);
    if (begin) {
      const after = line.slice(begin.index + begin[0].length);
      if (after.includes('\\n')) {
        // The whole block on one line with escaped newlines (a JSON service-account file).
        const body =
          after
            .split(/-----END/)[0]
            ?.split('\\n')
            .map((s) => s.trim())
            .filter((s) => BASE64_LINE.test(s))
            .join('') ?? '';
        if (body.length >= MIN_KEY_BODY) add(PRIVATE_KEY_RULE.id, lineNo, begin.index + 1, body);
      } else key = { line: lineNo, column: begin.index + 1, body: '', lines: 0 };
    }
  }
  // A block cut off by the end of the text (a truncated copy) is still a leaked key.
  if (key && key.body.length >= MIN_KEY_BODY) add(PRIVATE_KEY_RULE.id, key.line, key.column, key.body);
  return { matches, inlineAllowed, dropped };
}

interface LineHit {
  ruleId: string;
  start: number;
  secret: string;
}

/** The token rules, then generic assignments whose value no token rule already claimed. */
export function scanLine(line: string, entropyThreshold: number): LineHit[] {
  const hits: LineHit[] = [];
  const spans: Array<[number, number]> = [];
  for (const rule of TOKEN_RULES) {
    // A fresh regex per line ("d" for capture offsets): a shared global one would keep lastIndex.
    const re = new RegExp(rule.pattern.source, `${rule.pattern.flags}d`);
    let m: RegExpExecArray | null;
    while ((m = re.exec(line)) !== null) {
      const secret = m[rule.group];
      const span = m.indices?.[rule.group];
      if (secret === undefined || span === undefined) continue;
      const [start, end] = span;
      if (spans.some(([s, e]) => start < e && s < end)) continue;
      const placeholder = rule.humanChosen ? isPlaceholder(secret) : isExampleToken(secret);
      if (placeholder || (rule.validate && !rule.validate(secret, m))) continue;
      // A token whose text runs on into placeholder characters (xoxp-...-#####) is a template.
      if (/^(?:#{3}|\*{3}|[xX]{4})/.test(line.slice(end, end + 4))) continue;
      spans.push([start, end]);
      hits.push({ ruleId: rule.id, start, secret });
    }
  }
  for (const c of genericCandidates(line, entropyThreshold)) {
    if (spans.some(([s, e]) => c.start < e && s < c.end)) continue;
    hits.push({ ruleId: GENERIC_RULE.id, start: c.start, secret: c.value });
  }
  return hits.sort((a, b) => a.start - b.start);
}
