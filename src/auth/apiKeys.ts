/**
 * API keys for machine clients. The file holds only SHA-256 hashes, one key per line:
 *   <name> <sha256-hex> <scope>[,<scope>...]
 * `#` starts a comment. A presented key is hashed and compared with every entry in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isScope, type Scope } from './scopes.js';

export interface ApiKeyEntry {
  name: string;
  hash: Buffer;
  scopes: Scope[];
}

/** Keys are recognisable (`sam_`) so they are never mistaken for a JWT and easy to find in leaks. */
export const API_KEY_PREFIX = 'sam_';
const NAME_RE = /^[A-Za-z0-9][\w.-]{0,63}$/;

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Parses the file; throws an Error naming the line of the first bad entry. */
export function parseApiKeys(text: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const names = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [name, hex, scopeList, ...rest] = line.split(/\s+/);
    const where = `line ${i + 1}`;
    if (!name || !hex || !scopeList || rest.length > 0)
      throw new Error(`${where}: expected "<name> <sha256-hex> <scope,scope>"`);
    if (!NAME_RE.test(name)) throw new Error(`${where}: name must be 1-64 letters, digits, _ . -`);
    if (names.has(name)) throw new Error(`${where}: the name "${name}" is used twice`);
    if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`${where}: the hash must be 64 hex digits (SHA-256)`);
    const scopes = scopeList.split(',').filter(Boolean);
    const bad = scopes.find((s) => !isScope(s));
    if (bad !== undefined || scopes.length === 0)
      throw new Error(
        `${where}: unknown scope "${bad ?? ''}" (audit:read, audit:network, audit:logs, audit:admin)`,
      );
    names.add(name);
    entries.push({ name, hash: Buffer.from(hex, 'hex'), scopes: scopes as Scope[] });
  });
  return entries;
}

/** The entry the key belongs to. Every entry is compared, so timing reveals nothing about which. */
export function findApiKey(entries: ApiKeyEntry[], key: string): ApiKeyEntry | undefined {
  const presented = hashApiKey(key);
  let found: ApiKeyEntry | undefined;
  for (const e of entries) if (timingSafeEqual(e.hash, presented) && !found) found = e;
  return found;
}

/** A new key (256 random bits) and the line for AUTH_API_KEYS_FILE. */
export function generateApiKey(name: string, scopes: Scope[]): { key: string; line: string } {
  if (!NAME_RE.test(name))
    throw new Error('--name must be 1-64 letters, digits, _ . - (starting with a letter or digit)');
  if (scopes.length === 0) throw new Error('--scopes needs at least one scope');
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, line: `${name} ${hashApiKey(key).toString('hex')} ${scopes.join(',')}` };
}
