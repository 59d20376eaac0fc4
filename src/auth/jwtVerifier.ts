/**
 * Bearer JWTs with jose. The algorithm decides the key and the key decides the algorithms:
 * HS* only with AUTH_JWT_SECRET, asymmetric algorithms only with the JWKS or the public key
 * file, so `alg: none` and HS-signed-with-the-public-key tokens cannot verify.
 */
import type { KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { Resilience } from '../resilience/resilience.js';
import { AuthFailure } from './authFailure.js';
import type { Principal } from './principal.js';
import { knownScopes } from './scopes.js';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

export interface JwtSettings {
  secret?: Uint8Array;
  jwksUrl?: string;
  publicKey?: KeyObject;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  jwksCacheSeconds: number;
  jwksCooldownSeconds: number;
}

export type JwtVerifier = (token: string) => Promise<Principal>;

export function createJwtVerifier(s: JwtSettings, resilience: Resilience): JwtVerifier {
  // Keys are fetched through the breaker and retries like every other outbound call; jose
  // caches them and refetches on an unknown kid (key rotation), at most once per cooldown.
  const jwks = s.jwksUrl
    ? createRemoteJWKSet(new URL(s.jwksUrl), {
        cacheMaxAge: s.jwksCacheSeconds * 1000,
        cooldownDuration: s.jwksCooldownSeconds * 1000,
        [customFetch]: (url, init) =>
          resilience.guarded(
            'jwks',
            new URL(url).host,
            async (signal) => {
              const res = await fetch(url, { ...init, signal: AbortSignal.any([init.signal, signal]) });
              if (res.status >= 500)
                throw Object.assign(new Error(`JWKS answered ${res.status}`), { code: 'EJWKS5XX' });
              return res;
            },
            { isRetryable: (err) => (err as { code?: string }).code === 'EJWKS5XX' },
          ),
      })
    : undefined;
  const asymmetricKey = jwks ?? s.publicKey;

  return async (token) => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new AuthFailure('malformed_token', 'The bearer token is not a well-formed JWT');
    }
    const hmac = alg !== undefined && HMAC_ALGORITHMS.includes(alg);
    if (alg === undefined || (hmac ? !s.secret : !asymmetricKey || !ASYMMETRIC_ALGORITHMS.includes(alg))) {
      throw new AuthFailure(
        'algorithm_not_allowed',
        // The alg is the client's text: echoed only when it looks like an algorithm name.
        `Tokens signed with ${typeof alg === 'string' && /^[A-Za-z0-9]{1,16}$/.test(alg) ? `alg "${alg}"` : 'that alg'} are not accepted here`,
      );
    }
    const options = {
      algorithms: hmac ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS,
      issuer: s.issuer,
      audience: s.audience,
      clockTolerance: s.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    };
    let payload: JWTPayload;
    try {
      const verified =
        hmac && s.secret
          ? await jwtVerify(token, s.secret, options)
          : s.publicKey && !jwks
            ? await jwtVerify(token, s.publicKey, options)
            : await jwtVerify(token, jwks!, options);
      payload = verified.payload;
    } catch (err) {
      throw toAuthFailure(err);
    }
    // The subject becomes the principal id: sessions are bound to it, baselines record it as
    // their owner, logs print it. jose checks only that "sub" is present: "" would make every
    // such token one principal, a number or object an id by accident, control characters forge
    // log lines.
    const sub = payload.sub as unknown;
    if (
      typeof sub !== 'string' ||
      sub.trim() === '' ||
      sub.length > MAX_SUBJECT_LENGTH ||
      CONTROL_CHARS.test(sub)
    )
      throw new AuthFailure(
        'missing_claim',
        `The token's "sub" claim must be a non-empty string of at most ${MAX_SUBJECT_LENGTH} printable characters`,
      );
    return {
      id: `jwt:${sub}`,
      kind: 'jwt',
      scopes: knownScopes(scopesOf(payload)),
      expiresAt: payload.exp,
    };
  };
}

/** Real subjects are ids or e-mail addresses; RFC 7519 sets no limit, so we do. */
const MAX_SUBJECT_LENGTH = 256;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** `scope` (RFC 8693/9068: space-separated) or `scp` (an array, as Azure AD and Okta send). */
function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ');
  if (Array.isArray(payload.scp)) return payload.scp.filter((s): s is string => typeof s === 'string');
  if (typeof payload.scp === 'string') return payload.scp.split(' ');
  return [];
}

function toAuthFailure(err: unknown): AuthFailure {
  if (err instanceof errors.JWTExpired) return new AuthFailure('expired', 'The token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new AuthFailure('not_yet_valid', 'The token is not valid yet (nbf)');
    if (err.claim === 'iss') return new AuthFailure('wrong_issuer', 'The token was issued by another issuer');
    if (err.claim === 'aud')
      return new AuthFailure('wrong_audience', 'The token was issued for another audience (or names none)');
    return new AuthFailure('missing_claim', `The token's "${err.claim}" claim is missing or invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AuthFailure(
      'algorithm_not_allowed',
      'The token is signed with an algorithm not accepted here',
    );
  if (err instanceof errors.JWKSNoMatchingKey)
    return new AuthFailure('unknown_key', 'The token is signed with a key this server does not know (kid)');
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new AuthFailure('bad_signature', 'The token signature is invalid');
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || isNetworkError(err))
    return new AuthFailure('keys_unavailable', 'The signing keys (JWKS) cannot be fetched right now');
  if (err instanceof errors.JOSEError) return new AuthFailure('malformed_token', 'The token is malformed');
  return new AuthFailure('keys_unavailable', 'The signing keys (JWKS) cannot be fetched right now');
}

function isNetworkError(err: unknown): boolean {
  const name = (err as Error)?.name;
  return (
    name === 'TypeError' || name === 'AbortError' || name === 'TimeoutError' || name === 'BreakerOpenError'
  );
}
