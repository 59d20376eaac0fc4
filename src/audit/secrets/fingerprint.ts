import { createHash } from 'node:crypto';

/** 16 lower-case hex digits: what SECRETS_ALLOWLIST_FILE lists and findings carry. */
export const FINGERPRINT_RE = /^[0-9a-f]{16}$/;

/**
 * A stable name for one secret under one rule: the first 16 hex digits of SHA-256 over
 * `rule \0 secret`. The same on every run and machine (so it can be allow-listed and tracked),
 * and one-way: it names the secret without revealing it. A low-entropy password could still be
 * guessed offline from it, which is why only values that pass the entropy filter are reported.
 */
export function fingerprint(ruleId: string, secret: string): string {
  return createHash('sha256').update(ruleId).update('\0').update(secret).digest('hex').slice(0, 16);
}

/** The first 4 characters and `***`: enough to recognise a key's kind, never enough to use it. */
export function redact(secret: string): string {
  return `${[...secret].slice(0, 4).join('')}***`;
}

/**
 * SECRETS_ALLOWLIST_FILE's text: one fingerprint per line, `#` starts a comment (also after a
 * fingerprint). Returns the set, or the 1-based number of the first line that is not one (its
 * content is not echoed: a confused operator may have pasted the secret itself there).
 */
export function parseFingerprintList(text: string): { fingerprints: Set<string> } | { badLine: number } {
  const fingerprints = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const entry = (lines[i] ?? '').replace(/#.*$/, '').trim().toLowerCase();
    if (entry === '') continue;
    if (!FINGERPRINT_RE.test(entry)) return { badLine: i + 1 };
    fingerprints.add(entry);
  }
  return { fingerprints };
}
