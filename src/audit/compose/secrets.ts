/**
 * Plaintext secrets in `environment:` and `build.args`: a key that names a secret holding a
 * literal, or any value that is a URL with a password in it. Findings name the key and say why;
 * the value is never copied anywhere (not in evidence, titles or notes).
 */
import { literalPart } from './interpolate.js';
import type { LMap, LScalar } from './nodes.js';

const SECRET_WORD =
  /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|AUTH_?KEY|MASTER_?KEY|ENCRYPTION_?KEY|SIGNING_?KEY|SESSION_?KEY/;
const SECRET_TOKEN = /^(PASS|PWD|PW|DSN|KEY)$/;
/** Keys naming a setting about a secret, not the secret (POSTGRES_PASSWORD_FILE, TOKEN_TTL). */
const SETTING_SUFFIX =
  /_(FILE|PATH|DIR|LENGTH|LEN|MIN|MAX|EXPIRY|EXPIRES|EXPIRATION|TTL|TIMEOUT|LIFETIME|AGE|ENABLED|ENABLE|DISABLED|REQUIRED|POLICY|TYPE|MODE|ALGORITHM|ALGO|HEADER|ROTATION|COUNT|RETRIES|URL_FILE)$/;
/** Values that are flags, not secrets (MYSQL_RANDOM_ROOT_PASSWORD=yes). */
const FLAG_VALUE = /^(true|false|yes|no|on|off|y|n|0|1|none|null|random)$/i;
export const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:[^\s@/]+@/i;

export function looksSecretKey(key: string): boolean {
  const k = key.toUpperCase().replace(/[-.]/g, '_');
  if (SETTING_SUFFIX.test(k)) return false;
  // Short words (KEY, PASS, PWD) only as the last word: DB_PASS and APP_KEY name secrets,
  // KEY_CONVERTER and PASS_THROUGH (Kafka's key/value settings, flags) do not.
  return SECRET_WORD.test(k) || SECRET_TOKEN.test(k.split('_').pop() ?? '');
}

export interface SecretHit {
  key: string;
  node: LScalar;
  why: string;
}

/** Scans a normalised `environment`/`args` map. */
export function plaintextSecrets(env: LMap | undefined, where: string): SecretHit[] {
  const hits: SecretHit[] = [];
  if (!env) return hits;
  for (const [key, e] of env.entries) {
    const v = e.value;
    if (v.kind !== 'scalar' || v.value === null) continue;
    const raw = v.raw ?? String(v.value);
    // What is written in the file, references taken away: `${DB_PASSWORD}` leaves nothing.
    const literal = literalPart(raw).trim();
    if (literal === '') continue;
    const defaulted = raw.includes('${') && literal !== '';
    if (looksSecretKey(key)) {
      if (FLAG_VALUE.test(literal) || literal.startsWith('/run/secrets/')) continue;
      hits.push({
        key,
        node: v,
        why: defaulted
          ? `${where} ${key}: the default in its \${...:-...} reference is a literal secret written in the file`
          : `${where} ${key} holds a literal value instead of a \${VAR} reference or a secrets: file`,
      });
    } else if (URL_WITH_PASSWORD.test(literal)) {
      hits.push({ key, node: v, why: `${where} ${key} is a URL with a password written in it` });
    }
  }
  return hits;
}
