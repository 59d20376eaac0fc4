/**
 * Credentials for auth tests, made at test time: JWTs signed with jose, a JWKS served on
 * loopback whose keys can rotate, and API keys written to a keys file.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { generateApiKey } from '../../src/auth/apiKeys.js';
import type { Scope } from '../../src/auth/scopes.js';
import { tempDataDir } from './servers.js';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'server-audit-mcp';
export const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** A token with sensible defaults (valid for an hour), any of which a test may override. */
export async function hsToken(claims: JWTPayload = {}, secret = SECRET, alg = 'HS256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', scope: 'audit:read audit:network audit:logs audit:admin', ...claims })
    .setProtectedHeader({ alg })
    .setIssuedAt(now)
    .setIssuer(String(claims.iss ?? ISSUER))
    .setAudience((claims.aud as string | undefined) ?? AUDIENCE)
    .setExpirationTime(claims.exp ?? now + 3600)
    .sign(new TextEncoder().encode(secret));
}

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
  publicPem?: string;
}

export async function signingKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function signWith(key: SigningKey, claims: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'bob', scope: 'audit:read', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuedAt(now)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime(now + 3600)
    .sign(key.privateKey);
}

/** A JWKS endpoint on loopback; `keys` may be replaced to rotate. */
export interface JwksServer {
  url: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

export async function startJwks(keys: JWK[]): Promise<JwksServer> {
  const state: JwksServer = { url: '', keys, fetches: 0, close: async () => undefined };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

/** Writes an API keys file with one key per entry; returns its path and the keys. */
export function apiKeysFile(entries: Record<string, Scope[]>): {
  path: string;
  keys: Record<string, string>;
} {
  const keys: Record<string, string> = {};
  const lines = ['# test keys'];
  for (const [name, scopes] of Object.entries(entries)) {
    const k = generateApiKey(name, scopes);
    keys[name] = k.key;
    lines.push(k.line);
  }
  const path = join(tempDataDir(), 'api_keys');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, keys };
}

/** A real MCP client sending the credential on every request. */
export async function authedClient(url: string, credential: string): Promise<Client> {
  const client = new Client({ name: 'auth-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${credential}` } },
    }),
  );
  return client;
}

export const INIT_BODY = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** A raw initialize with the given headers: for status codes and WWW-Authenticate. */
export function rawInitialize(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(INIT_BODY),
    signal: AbortSignal.timeout(10_000),
  });
}
