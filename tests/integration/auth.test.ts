import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { type RunningHttp, startHttp } from '../../src/runtime.js';
import {
  apiKeysFile,
  AUDIENCE,
  authedClient,
  hsToken,
  ISSUER,
  type JwksServer,
  rawInitialize,
  SECRET,
  type SigningKey,
  signingKey,
  signWith,
  startJwks,
} from '../helpers/authTestBed.js';
import { configFrom, fixtureHostEnv, ROOT, startInProcess, tempDataDir } from '../helpers/servers.js';

const run = promisify(execFile);
const ALL_TOOLS = [
  'analyze_bots',
  'analyze_slow_queries',
  'audit_compose',
  'check_clock',
  'check_database',
  'check_dns',
  'check_http',
  'check_permissions',
  'check_tls',
  'compare_baselines',
  'delete_baselines',
  'detect_system',
  'fleet_health',
  'list_hosts',
  'run_health_check',
  'scan_secrets',
];
const READ_TOOLS = [
  'audit_compose',
  'check_permissions',
  'compare_baselines',
  'detect_system',
  'fleet_health',
  'list_hosts',
  'run_health_check',
  'scan_secrets',
];

/** Everything the server logs, to prove no credential ever reaches a log line. */
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(String(chunk));
    done();
  },
});

let server: RunningHttp;
let auditFile: string;
let keys: Record<string, string>;

beforeAll(async () => {
  const file = apiKeysFile({ reader: ['audit:read'], ops: ['audit:read', 'audit:network'] });
  keys = file.keys;
  auditFile = join(tempDataDir(), 'audit', 'audit.log');
  const config = configFrom({
    ...fixtureHostEnv('debian'),
    AUTH_JWT_SECRET: SECRET,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_API_KEYS_FILE: file.path,
    AUTH_AUTHORIZATION_SERVERS: 'https://login.example.test',
    AUDIT_LOG_FILE: auditFile,
    AUTH_FAILURE_LIMIT: '1000',
    LOG_LEVEL: 'debug',
  });
  server = await startHttp(config, createLogger('debug', logSink));
}, 30_000);

afterAll(async () => {
  await server?.shutdown('test done');
});

function challenge(res: Response): string {
  return res.headers.get('www-authenticate') ?? '';
}

describe('bearer tokens (HS256 secret)', () => {
  it('asks for credentials with 401 and the protected-resource metadata URL', async () => {
    const res = await rawInitialize(server.url);
    expect(res.status).toBe(401);
    const prm = server.url.replace('/mcp', '/.well-known/oauth-protected-resource/mcp');
    expect(challenge(res)).toBe(`Bearer resource_metadata="${prm}"`);
    expect((await res.json()) as object).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
  });

  it('serves a session to a valid token, with every tool its scopes allow', async () => {
    const client = await authedClient(server.url, await hsToken());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
    const res = await client.callTool({ name: 'detect_system', arguments: {} });
    expect(res.isError).toBeFalsy();
    await client.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refused: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', () => hsToken({ exp: now() - 120 }), /expired/],
    ['not yet valid', () => hsToken({ nbf: now() + 600 }), /not valid yet/],
    ['wrong issuer', () => hsToken({ iss: 'https://evil.test' }), /another issuer/],
    ['wrong audience', () => hsToken({ aud: 'another-service' }), /another audience/],
    [
      'missing audience',
      () =>
        new SignJWT({ sub: 'alice', scope: 'audit:read' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISSUER)
          .setExpirationTime(now() + 600)
          .sign(new TextEncoder().encode(SECRET)),
      /another audience/,
    ],
    [
      'alg none',
      async () =>
        new UnsecuredJWT({ sub: 'alice', scope: 'audit:admin' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime(now() + 600)
          .encode(),
      /alg "none"/,
    ],
    [
      'signed with another secret',
      () => hsToken({}, 'another-secret-0123456789-abcdefghijklmnop'),
      /signature/,
    ],
    [
      'tampered payload',
      async () => {
        const [h, , s] = (await hsToken({ scope: 'audit:read' })).split('.');
        const forged = Buffer.from(
          JSON.stringify({
            sub: 'alice',
            scope: 'audit:admin',
            iss: ISSUER,
            aud: AUDIENCE,
            exp: now() + 600,
          }),
        ).toString('base64url');
        return `${h}.${forged}.${s}`;
      },
      /signature/,
    ],
    ['malformed token', async () => 'not.a.jwt', /well-formed/],
    ['no subject', () => hsToken({ sub: undefined }), /"sub"/],
    ['with an empty subject', () => hsToken({ sub: '' }), /"sub" claim must be a non-empty string/],
    ['with a blank subject', () => hsToken({ sub: '   ' }), /"sub" claim must be a non-empty string/],
    [
      'with a numeric subject',
      () => hsToken({ sub: 42 as unknown as string }),
      /"sub" claim (must be a non-empty string|is missing or invalid)/,
    ],
    [
      'with an object subject',
      () => hsToken({ sub: { id: 'alice' } as unknown as string }),
      /"sub" claim (must be a non-empty string|is missing or invalid)/,
    ],
    ['with a subject holding a newline', () => hsToken({ sub: 'alice\nadmin' }), /"sub" claim must be/],
  ];

  it.each(refused)('refuses a token that is %s: 401 invalid_token', async (_name, make, message) => {
    const res = await rawInitialize(server.url, { Authorization: `Bearer ${await make()}` });
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="http/,
    );
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(message);
  });

  it('refuses a malformed Authorization header with 400 invalid_request', async () => {
    for (const header of ['Bearer', 'Bearer a b']) {
      const res = await rawInitialize(server.url, { Authorization: header });
      expect(res.status, header).toBe(400);
      expect(challenge(res)).toMatch(/error="invalid_request"/);
    }
  });

  it('answers another scheme (Basic) with the plain 401 challenge, as for no credentials', async () => {
    const res = await rawInitialize(server.url, { Authorization: 'Basic dXNlcjpwYXNz' });
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/^Bearer resource_metadata="/);
  });

  it('never echoes a hostile alg, and always answers', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'x\r\nSet-Cookie: a=b' })).toString('base64url');
    const res = await rawInitialize(server.url, { Authorization: `Bearer ${header}.e30.c2ln` });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(challenge(res)).toContain('that alg');
  });

  it('refuses a token in the query string, even a valid one', async () => {
    const token = await hsToken();
    const res = await rawInitialize(`${server.url}?access_token=${token}`, {
      Authorization: `Bearer ${token}`,
    });
    expect(res.status).toBe(400);
    expect(challenge(res)).toMatch(/error="invalid_request"/);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/query string/);
  });

  it('counts each refusal by reason on /metrics', async () => {
    const text = await (await fetch(server.url.replace('/mcp', '/metrics'))).text();
    for (const reason of [
      'missing_token',
      'expired',
      'wrong_audience',
      'algorithm_not_allowed',
      'bad_signature',
    ])
      expect(text).toMatch(new RegExp(`auth_failures_total\\{reason="${reason}"\\} [1-9]`));
  });
});

describe('scopes', () => {
  it('shows a read-only principal only the read tools, and refuses the others naming the scope', async () => {
    const client = await authedClient(server.url, keys.reader as string);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(READ_TOOLS);
    const res = await client.callTool({ name: 'check_tls', arguments: { targets: ['127.0.0.1:1'] } });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toBe(
      'check_tls needs the audit:network scope; these credentials grant audit:read. Ask for a token or API key with audit:network.',
    );
    const del = await client.callTool({ name: 'delete_baselines', arguments: { ids: ['x'] } });
    expect((del.content as Array<{ text: string }>)[0]?.text).toMatch(/needs the audit:admin scope/);
    // The read principal still calls what it may.
    expect((await client.callTool({ name: 'detect_system', arguments: {} })).isError).toBeFalsy();
    const text = await (await fetch(server.url.replace('/mcp', '/metrics'))).text();
    expect(text).toMatch(/tool_calls_denied_total\{tool="check_tls",reason="insufficient_scope"\} 1/);
    await client.close();
  });

  it('gives a token with scopes only from JWT scp arrays too', async () => {
    const client = await authedClient(
      server.url,
      await hsToken({ scope: undefined, scp: ['audit:network'] }),
    );
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'check_clock',
      'check_database',
      'check_dns',
      'check_http',
      'check_tls',
    ]);
    // Baselines are audit:read resources: not listed, not readable.
    expect((await client.listResources()).resources).toEqual([]);
    await expect(client.readResource({ uri: 'audit://baselines' })).rejects.toThrow(/audit:read/);
    await client.close();
  });

  it('answers 403 insufficient_scope to credentials with none of the server scopes', async () => {
    const res = await rawInitialize(server.url, {
      Authorization: `Bearer ${await hsToken({ scope: 'email profile' })}`,
    });
    expect(res.status).toBe(403);
    expect(challenge(res)).toMatch(/^Bearer error="insufficient_scope", scope="audit:read", /);
    expect(challenge(res)).toMatch(
      /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    );
  });

  it('lets an admin delete baselines', async () => {
    const client = await authedClient(server.url, await hsToken());
    const saved = await client.callTool({
      name: 'run_health_check',
      arguments: { checks: ['resources'], cpuSampleMs: 0 },
    });
    const id = (saved.structuredContent as { baselineId: string }).baselineId;
    expect(id).toBeTruthy();
    const del = await client.callTool({ name: 'delete_baselines', arguments: { ids: [id, 'nope'] } });
    expect(del.structuredContent).toEqual({ deleted: [id], notFound: ['nope'] });
    await expect(client.readResource({ uri: `audit://baselines/${id}` })).rejects.toThrow(/not found/);
    await client.close();
  });
});

describe('API keys', () => {
  it('refuses an unknown key (same shape, not in the file)', async () => {
    const res = await rawInitialize(server.url, { Authorization: `Bearer sam_${'A'.repeat(43)}` });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /API key is not known/,
    );
  });

  it('keygen prints a key once and a line that makes it work', async () => {
    const { stdout } = await run(process.execPath, [
      join(ROOT, 'dist', 'server.js'),
      'keygen',
      '--name',
      'ci',
      '--scopes',
      'audit:read,audit:logs',
    ]);
    const key = /^(sam_[\w-]{43})$/m.exec(stdout)?.[1];
    const line = /^(ci [0-9a-f]{64} audit:read,audit:logs)$/m.exec(stdout)?.[1];
    expect(key).toBeTruthy();
    expect(line).toBeTruthy();
    expect(line).not.toContain(key as string);
    const path = join(tempDataDir(), 'keys');
    writeFileSync(path, `${line}\n`);
    const other = await startInProcess({ ...fixtureHostEnv('debian'), AUTH_API_KEYS_FILE: path });
    try {
      const client = await authedClient(other.url, key as string);
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(
        ['analyze_bots', 'analyze_slow_queries', ...READ_TOOLS].sort(),
      );
      await client.close();
    } finally {
      await other.shutdown('test done');
    }
  });

  it('keygen refuses unknown scopes with a clear message', async () => {
    const err = await run(process.execPath, [
      join(ROOT, 'dist', 'server.js'),
      'keygen',
      '--name',
      'x',
      '--scopes',
      'root',
    ])
      .then(() => undefined)
      .catch((e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/unknown scope "root"/);
  });
});

describe('session binding', () => {
  it('answers 404 to another principal presenting a session id; the owner keeps working', async () => {
    const alice = await authedClient(server.url, await hsToken({ sub: 'alice' }));
    const sessionId = (alice.transport as { sessionId?: string }).sessionId as string;
    expect(sessionId).toMatch(/^[0-9a-f]{32}$/);
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId,
        'Mcp-Protocol-Version': '2025-06-18',
        Authorization: `Bearer ${await hsToken({ sub: 'mallory' })}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32001);
    expect((await alice.callTool({ name: 'detect_system', arguments: {} })).isError).toBeFalsy();
    await alice.close();
  });
});

describe('protected resource metadata (RFC 9728)', () => {
  it('serves the document at both well-known locations with the required fields', async () => {
    const base = server.url.replace('/mcp', '');
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const doc = (await res.json()) as Record<string, unknown>;
      // RFC 9728 §2: resource is REQUIRED and is the protected resource's URL, without a fragment.
      expect(doc.resource).toBe(server.url);
      expect(new URL(doc.resource as string).hash).toBe('');
      expect(doc.authorization_servers).toEqual(['https://login.example.test']);
      expect(doc.scopes_supported).toEqual(['audit:read', 'audit:network', 'audit:logs', 'audit:admin']);
      expect(doc.bearer_methods_supported).toEqual(['header']);
    }
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin and exposes Mcp-Session-Id', async () => {
    const res = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://localhost:5173',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type, mcp-session-id',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const post = await rawInitialize(server.url, {
      Origin: 'http://localhost:5173',
      Authorization: `Bearer ${await hsToken()}`,
    });
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-expose-headers')).toMatch(/Mcp-Session-Id/);
  });

  it('refuses a foreign origin, preflight included', async () => {
    const res = await fetch(server.url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('audit log', () => {
  it('writes exactly one record per tool call, and no credential reaches any log', async () => {
    const before = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).length;
    const token = await hsToken({ sub: 'auditor' });
    const client = await authedClient(server.url, token);
    const reader = await authedClient(server.url, keys.reader as string);
    await client.callTool({ name: 'detect_system', arguments: {} });
    await client.callTool({
      name: 'check_http',
      arguments: { urls: ['http://admin:hunter2-password@127.0.0.1:1/login?token=s3cr3t-in-query'] },
    });
    await client.callTool({ name: 'detect_system', arguments: { maxAgeSeconds: 'soon' } });
    await reader.callTool({ name: 'analyze_bots', arguments: { paths: ['/var/log/nginx/access.log'] } });
    await client.close();
    await reader.close();

    const records = readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.principal, r.tool, r.outcome])).toEqual([
      ['jwt:auditor', 'detect_system', 'ok'],
      ['jwt:auditor', 'check_http', expect.stringMatching(/^(ok|error)$/)],
      ['jwt:auditor', 'detect_system', 'invalid'],
      ['key:reader', 'analyze_bots', 'denied'],
    ]);
    for (const r of records) {
      expect(r).toMatchObject({ log: 'audit', msg: 'tool call' });
      expect(typeof r.time).toBe('number');
      expect(r.session).toMatch(/^[0-9a-f]{32}$/);
      expect(typeof r.durationMs).toBe('number');
    }
    expect(records[1]?.args).toEqual({ urls: ['http://127.0.0.1:1/login'] });
    expect(records[3]).toMatchObject({ missingScope: 'audit:logs', args: { paths: ['[path]'] } });

    const everything = readFileSync(auditFile, 'utf8') + logLines.join('');
    for (const secret of [token, keys.reader as string, 'hunter2-password', 's3cr3t-in-query', SECRET])
      expect(everything).not.toContain(secret);
  });
});

describe('one request, one answer, one audit record', () => {
  it('refuses a batch repeating an id before anything runs, and records malformed calls as invalid', async () => {
    const token = await hsToken({ sub: 'batcher' });
    const init = await rawInitialize(server.url, { Authorization: `Bearer ${token}` });
    const session = init.headers.get('mcp-session-id') as string;
    const before = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).length;
    const post = (body: unknown) =>
      fetch(server.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'Mcp-Session-Id': session,
          'Mcp-Protocol-Version': '2025-06-18',
          Authorization: `Bearer ${token}`,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    const batch = await post([
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'delete_baselines', arguments: { ids: ['x'] } },
      },
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'detect_system', arguments: {} } },
    ]);
    expect(batch.status).toBe(400);
    expect(await batch.text()).toMatch(/-32600.*repeats a request id/);
    const single = await post({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'delete_baselines', arguments: { ids: ['x'] } },
    });
    expect(await single.text()).toMatch(/notFound/);
    const bad = await post({
      jsonrpc: '2.0',
      id: 8,
      method: 'tools/call',
      params: { name: 'detect_system', arguments: 5 },
    });
    expect(await bad.text()).toMatch(/-32602/);
    const records = readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.tool, r.outcome])).toEqual([
      ['delete_baselines', 'ok'],
      ['detect_system', 'invalid'],
    ]);
  });
});

describe('JWKS (RS256, ES256, EdDSA) with key rotation', () => {
  let jwks: JwksServer;
  let jwksServer: RunningHttp;
  let rsa: SigningKey;
  let ec: SigningKey;

  beforeAll(async () => {
    rsa = await signingKey('RS256', 'rsa-1');
    ec = await signingKey('ES256', 'ec-1');
    jwks = await startJwks([rsa.publicJwk, ec.publicJwk]);
    jwksServer = await startInProcess({
      ...fixtureHostEnv('debian'),
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_COOLDOWN_SECONDS: '0',
      AUTH_FAILURE_LIMIT: '1000',
    });
  });

  afterAll(async () => {
    await jwksServer?.shutdown('test done');
    await jwks?.close();
  });

  it('accepts RS256 and ES256 tokens signed by keys in the JWKS', async () => {
    for (const key of [rsa, ec]) {
      const client = await authedClient(jwksServer.url, await signWith(key));
      expect((await client.listTools()).tools.map((t) => t.name).sort(), key.alg).toEqual(READ_TOOLS);
      await client.close();
    }
  });

  it('fetches a rotated-in key by its new kid, and refuses a kid the JWKS does not have', async () => {
    const ed = await signingKey('EdDSA', 'ed-2');
    const fetchesBefore = jwks.fetches;
    jwks.keys = [ec.publicJwk, ed.publicJwk]; // rsa-1 rotated out, ed-2 in
    const client = await authedClient(jwksServer.url, await signWith(ed));
    expect(jwks.fetches).toBeGreaterThan(fetchesBefore);
    await client.close();

    const unknown = await signingKey('ES256', 'never-published');
    const res = await rawInitialize(jwksServer.url, { Authorization: `Bearer ${await signWith(unknown)}` });
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/error="invalid_token"/);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/does not know/);
  });

  it('refuses HS256 signed with the RSA public key as the secret (algorithm confusion)', async () => {
    const { createPublicKey } = await import('node:crypto');
    const pem = createPublicKey({ key: rsa.publicJwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    }) as string;
    const token = await hsToken({ sub: 'attacker' }, pem);
    const res = await rawInitialize(jwksServer.url, { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/alg "HS256"/);
  });
});

describe('brute-force guard', () => {
  it('blocks an IP after AUTH_FAILURE_LIMIT failures, valid credentials included, with Retry-After', async () => {
    const guarded = await startInProcess({
      ...fixtureHostEnv('debian'),
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_FAILURE_LIMIT: '3',
      AUTH_FAILURE_WINDOW_SECONDS: '60',
    });
    try {
      const bad = await hsToken({}, 'wrong-secret-0123456789-abcdefghijklmnopq');
      for (let i = 0; i < 3; i++)
        expect((await rawInitialize(guarded.url, { Authorization: `Bearer ${bad}` })).status).toBe(401);
      const blocked = await rawInitialize(guarded.url, { Authorization: `Bearer ${await hsToken()}` });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Health endpoints are not behind authentication.
      expect((await fetch(guarded.url.replace('/mcp', '/health'))).status).toBe(200);
    } finally {
      await guarded.shutdown('test done');
    }
  });

  it('does not count requests without credentials (clients discovering the auth server)', async () => {
    const guarded = await startInProcess({
      ...fixtureHostEnv('debian'),
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_FAILURE_LIMIT: '2',
    });
    try {
      for (let i = 0; i < 5; i++) expect((await rawInitialize(guarded.url)).status).toBe(401);
      expect((await rawInitialize(guarded.url, { Authorization: `Bearer ${await hsToken()}` })).status).toBe(
        200,
      );
    } finally {
      await guarded.shutdown('test done');
    }
  });
});

describe('start-up', () => {
  it('without auth configured, the anonymous principal has every tool on loopback', async () => {
    const open = await startInProcess(fixtureHostEnv('debian'));
    try {
      const client = await authedClient(open.url, 'ignored-without-auth');
      expect((await client.listTools()).tools).toHaveLength(ALL_TOOLS.length);
      await client.close();
    } finally {
      await open.shutdown('test done');
    }
  });

  it('warns at every start when AUTH_DISABLED=true', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const config = configFrom({ AUTH_DISABLED: 'true', LOG_LEVEL: 'info' });
    const s = await startHttp(config, createLogger('info', sink), { audit: () => undefined });
    await s.shutdown('test done');
    const warning = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.level === 40);
    expect(warning?.msg).toMatch(/AUTH_DISABLED=true/);
  });
});
