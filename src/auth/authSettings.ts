import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../configError.js';
import { type ApiKeyEntry, parseApiKeys } from './apiKeys.js';
import type { AuthSettings } from './authenticator.js';

interface AuthEnv {
  AUTH_JWT_SECRET?: string;
  AUTH_JWKS_URL?: string;
  AUTH_PUBLIC_KEY_FILE?: string;
  AUTH_ISSUER?: string;
  AUTH_AUDIENCE?: string;
  AUTH_CLOCK_TOLERANCE_SECONDS: number;
  AUTH_JWKS_CACHE_SECONDS: number;
  AUTH_JWKS_COOLDOWN_SECONDS: number;
  AUTH_API_KEYS_FILE?: string;
  AUTH_DISABLED: boolean;
}

/** Cross-checks the AUTH_* variables and reads the key files; any problem stops start-up. */
export function loadAuthSettings(e: AuthEnv): AuthSettings {
  const jwtKeys = [e.AUTH_JWT_SECRET, e.AUTH_JWKS_URL, e.AUTH_PUBLIC_KEY_FILE].filter(Boolean).length;
  if (e.AUTH_JWKS_URL && e.AUTH_PUBLIC_KEY_FILE)
    throw new ConfigError(
      'Invalid AUTH_PUBLIC_KEY_FILE: set either AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE, not both',
    );
  const apiKeys = e.AUTH_API_KEYS_FILE ? readApiKeys(e.AUTH_API_KEYS_FILE) : [];
  const configured = jwtKeys > 0 || e.AUTH_API_KEYS_FILE !== undefined;
  if (e.AUTH_DISABLED && configured)
    throw new ConfigError(
      'Invalid AUTH_DISABLED (got "true"): it contradicts the AUTH_* credentials also set; remove one',
    );
  if (jwtKeys > 0) {
    // Without both, a token minted for another service by the same issuer would be accepted here.
    if (!e.AUTH_AUDIENCE)
      throw new ConfigError(
        'Invalid AUTH_AUDIENCE: required with JWT authentication (the audience tokens must name)',
      );
    if (!e.AUTH_ISSUER)
      throw new ConfigError(
        'Invalid AUTH_ISSUER: required with JWT authentication (the issuer tokens must name)',
      );
  }
  return {
    mode: configured ? 'required' : e.AUTH_DISABLED ? 'disabled' : 'none',
    apiKeys,
    ...(jwtKeys > 0
      ? {
          jwt: {
            ...(e.AUTH_JWT_SECRET ? { secret: new TextEncoder().encode(e.AUTH_JWT_SECRET) } : {}),
            ...(e.AUTH_JWKS_URL ? { jwksUrl: e.AUTH_JWKS_URL } : {}),
            ...(e.AUTH_PUBLIC_KEY_FILE ? { publicKey: readPublicKey(e.AUTH_PUBLIC_KEY_FILE) } : {}),
            issuer: e.AUTH_ISSUER!,
            audience: e.AUTH_AUDIENCE!,
            clockToleranceSeconds: e.AUTH_CLOCK_TOLERANCE_SECONDS,
            jwksCacheSeconds: e.AUTH_JWKS_CACHE_SECONDS,
            jwksCooldownSeconds: e.AUTH_JWKS_COOLDOWN_SECONDS,
          },
        }
      : {}),
  };
}

function readKeyFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `Invalid ${variable} (got "${path}"): cannot read it (${(err as NodeJS.ErrnoException).code})`,
    );
  }
}

function readApiKeys(path: string): ApiKeyEntry[] {
  try {
    return parseApiKeys(readKeyFile('AUTH_API_KEYS_FILE', path));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Invalid AUTH_API_KEYS_FILE (got "${path}"): ${(err as Error).message}`);
  }
}

/** A PEM public key (SPKI) or a public JWK in JSON; private keys and certificates are refused. */
function readPublicKey(path: string): KeyObject {
  const text = readKeyFile('AUTH_PUBLIC_KEY_FILE', path);
  let key: KeyObject;
  try {
    key = text.trimStart().startsWith('{')
      ? createPublicKey({ key: JSON.parse(text) as import('node:crypto').JsonWebKey, format: 'jwk' })
      : createPublicKey(text);
  } catch {
    throw new ConfigError(
      `Invalid AUTH_PUBLIC_KEY_FILE (got "${path}"): not a PEM public key or a public JWK`,
    );
  }
  if (/PRIVATE KEY/.test(text) || key.asymmetricKeyType === undefined)
    throw new ConfigError(
      `Invalid AUTH_PUBLIC_KEY_FILE (got "${path}"): give the public key, not the private one`,
    );
  if (!['rsa', 'rsa-pss', 'ec', 'ed25519'].includes(key.asymmetricKeyType))
    throw new ConfigError(
      `Invalid AUTH_PUBLIC_KEY_FILE (got "${path}"): ${key.asymmetricKeyType} keys are not supported (RSA, EC or Ed25519)`,
    );
  return key;
}
