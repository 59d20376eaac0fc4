import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from '../../src/auth/apiKeys.js';
import { ConfigError, loadConfig, prepareDataDir } from '../../src/config.js';

function run(env: Record<string, string>, argv: string[] = []) {
  const action = loadConfig(argv, env);
  if (action.kind !== 'run') throw new Error(`expected run, got ${action.kind}`);
  return action.config;
}

function errorOf(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = run({ HOME: '/home/ada' });
    expect(c).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 3000,
      LOG_LEVEL: 'info',
      SESSION_TTL_SECONDS: 1800,
      MAX_BODY_BYTES: 1048576,
      SHUTDOWN_GRACE_SECONDS: 30,
      HOST_PROC: '/proc',
      HOST_SYS: '/sys',
      HOST_ROOT: '/',
      DATA_DIR: '/home/ada/.local/share/server-audit-mcp',
      TOOLSETS: ['health', 'logs', 'network', 'config', 'database'],
      transport: 'http',
      allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
      allowedOrigins: null,
    });
  });

  it('puts DATA_DIR in the per-user data folder, never the working directory', () => {
    expect(run({ HOME: '/home/ada', XDG_DATA_HOME: '/srv/xdg' }).DATA_DIR).toBe('/srv/xdg/server-audit-mcp');
    // A relative XDG_DATA_HOME is invalid by the XDG spec and ignored.
    expect(run({ HOME: '/home/ada', XDG_DATA_HOME: 'rel' }).DATA_DIR).toBe(
      '/home/ada/.local/share/server-audit-mcp',
    );
    expect(run({ DATA_DIR: '/data' }).DATA_DIR).toBe('/data');
    // An explicit relative DATA_DIR still means "relative to where I started it".
    expect(run({ DATA_DIR: 'data' }).DATA_DIR).toBe(join(process.cwd(), 'data'));
  });

  it('reads TOOLSETS and LOG_FORMAT', () => {
    expect(run({ TOOLSETS: 'health, network' }).TOOLSETS).toEqual(['health', 'network']);
    expect(errorOf({ TOOLSETS: 'health,shell' })).toBe(
      'Invalid TOOLSETS (got "health,shell"): must be a comma-separated list of health, logs, network, config, database',
    );
    expect(run({}).LOG_FORMAT).toBeUndefined();
    expect(run({ LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    expect(errorOf({ LOG_FORMAT: 'xml' })).toBe('Invalid LOG_FORMAT (got "xml"): must be json or pretty');
  });

  it('creates DATA_DIR at start-up and names DATA_DIR when it cannot be written', () => {
    const base = mkdtempSync(join(tmpdir(), 'datadir-'));
    const fresh = join(base, 'a', 'b');
    prepareDataDir(run({ DATA_DIR: fresh }));
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    // Under a regular file: no user (root included) can create it.
    const file = join(base, 'file');
    writeFileSync(file, '');
    expect(() => prepareDataDir(run({ DATA_DIR: join(file, 'data') }))).toThrow(
      `Invalid DATA_DIR (got "${join(file, 'data')}"): cannot create or write it (ENOTDIR); set DATA_DIR to a folder this user can write`,
    );
    // Fleet mode keeps baselines in Redis: DATA_DIR is not touched.
    expect(() =>
      prepareDataDir(run({ DATA_DIR: join(file, 'data'), REDIS_URL: 'redis://127.0.0.1:6379' })),
    ).not.toThrow();
  });

  it('reads values from the environment and lets flags override HOST and PORT', () => {
    const c = run({ PORT: '8080', HOST: '127.0.0.2', LOG_LEVEL: 'debug' }, [
      '--port',
      '9090',
      '--host',
      '::1',
    ]);
    expect(c.PORT).toBe(9090);
    expect(c.HOST).toBe('::1');
    expect(c.LOG_LEVEL).toBe('debug');
    expect(run({}, ['--stdio']).transport).toBe('stdio');
  });

  it('treats an empty variable as unset', () => {
    expect(run({ PORT: '' }).PORT).toBe(3000);
  });

  it('normalises ALLOWED_HOSTS and ALLOWED_ORIGINS', () => {
    const c = run({ ALLOWED_HOSTS: 'Audit.Example.com, ::1,', ALLOWED_ORIGINS: 'https://app.example.com/' });
    expect(c.allowedHosts).toEqual(['audit.example.com', '[::1]']);
    expect(c.allowedOrigins).toEqual(['https://app.example.com']);
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid PORT (got "abc"): must be a whole number from 0 to 65535'],
    [{ PORT: '70000' }, 'Invalid PORT (got "70000"): must be a whole number from 0 to 65535'],
    [{ PORT: '80.5' }, 'Invalid PORT (got "80.5"): must be a whole number from 0 to 65535'],
    [
      { LOG_LEVEL: 'loud' },
      'Invalid LOG_LEVEL (got "loud"): must be one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      { SESSION_TTL_SECONDS: '5' },
      'Invalid SESSION_TTL_SECONDS (got "5"): must be a whole number from 10 to 604800',
    ],
    [
      { MAX_BODY_BYTES: '-1' },
      'Invalid MAX_BODY_BYTES (got "-1"): must be a whole number from 1024 to 67108864',
    ],
    [
      { SHUTDOWN_GRACE_SECONDS: 'x' },
      'Invalid SHUTDOWN_GRACE_SECONDS (got "x"): must be a whole number from 0 to 600',
    ],
    [{ HOST_PROC: 'proc' }, 'Invalid HOST_PROC (got "proc"): must be an absolute path'],
    [{ HOST_SYS: 'sys' }, 'Invalid HOST_SYS (got "sys"): must be an absolute path'],
    [{ HOST_ROOT: 'host' }, 'Invalid HOST_ROOT (got "host"): must be an absolute path'],
    [
      { ALLOWED_ORIGINS: 'not a url' },
      'Invalid ALLOWED_ORIGINS (got "not a url"): each entry must be an origin',
    ],
    [
      { ALLOWED_HOSTS: 'a b' },
      'Invalid ALLOWED_HOSTS (got "a b"): each entry must be a host name without port',
    ],
  ])('refuses %o with a clear message', (env, message) => {
    expect(errorOf(env)).toContain(message);
  });

  it('refuses to bind beyond loopback while no authentication is configured', () => {
    expect(errorOf({ HOST: '0.0.0.0' })).toMatch(
      /^Invalid HOST \(got "0.0.0.0"\): binding beyond loopback needs authentication/,
    );
    expect(errorOf({}, ['--host', '192.168.1.5'])).toContain('Invalid HOST');
  });

  it('binds beyond loopback with authentication configured, or with the explicit AUTH_DISABLED override', () => {
    const keys = join(mkdtempSync(join(tmpdir(), 'keys-')), 'api_keys');
    writeFileSync(keys, `${generateApiKey('ci', ['audit:read']).line}\n`);
    expect(run({ HOST: '0.0.0.0', AUTH_API_KEYS_FILE: keys }).auth.mode).toBe('required');
    expect(run({ HOST: '0.0.0.0', AUTH_DISABLED: 'true' }).auth.mode).toBe('disabled');
    expect(run({}).auth.mode).toBe('none');
  });

  it('checks the AUTH_* settings together, with messages that say what to fix', () => {
    const secret = 'x'.repeat(32);
    const cases: Array<[Record<string, string>, string]> = [
      [{ AUTH_JWT_SECRET: 'short' }, 'Invalid AUTH_JWT_SECRET: must be at least 32 bytes'],
      [
        { AUTH_JWT_SECRET: secret, AUTH_ISSUER: 'i' },
        'Invalid AUTH_AUDIENCE: required with JWT authentication',
      ],
      [
        { AUTH_JWT_SECRET: secret, AUTH_AUDIENCE: 'a' },
        'Invalid AUTH_ISSUER: required with JWT authentication',
      ],
      [
        { AUTH_JWKS_URL: 'ftp://x' },
        'Invalid AUTH_JWKS_URL (got "ftp://x"): must be an https:// URL (http:// only on loopback)',
      ],
      [
        { AUTH_JWKS_URL: 'http://idp.example/jwks' },
        'Invalid AUTH_JWKS_URL (got "http://idp.example/jwks"): must be an https:// URL (http:// only on loopback)',
      ],
      [{ TRUST_PROXY: 'yes' }, 'Invalid TRUST_PROXY (got "yes"): must be a hop count'],
      [
        { AUTH_DISABLED: 'true', AUTH_JWT_SECRET: secret, AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' },
        'Invalid AUTH_DISABLED (got "true"): it contradicts',
      ],
      [
        { AUTH_API_KEYS_FILE: '/nonexistent/keys' },
        'Invalid AUTH_API_KEYS_FILE (got "/nonexistent/keys"): cannot read it (ENOENT)',
      ],
      [
        { AUTH_PUBLIC_KEY_FILE: '/nonexistent/key.pem', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' },
        'Invalid AUTH_PUBLIC_KEY_FILE',
      ],
    ];
    for (const [env, message] of cases) expect(errorOf(env), JSON.stringify(env)).toContain(message);
  });

  it('reads an API keys file and names the line of a bad entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const bad = join(dir, 'bad');
    writeFileSync(bad, `# ok\n${generateApiKey('ci', ['audit:read']).line}\nops deadbeef audit:read\n`);
    expect(errorOf({ AUTH_API_KEYS_FILE: bad })).toBe(
      `Invalid AUTH_API_KEYS_FILE (got "${bad}"): line 3: the hash must be 64 hex digits (SHA-256)`,
    );
    writeFileSync(bad, `ops ${'a'.repeat(64)} audit:root\n`);
    expect(errorOf({ AUTH_API_KEYS_FILE: bad })).toContain('line 1: unknown scope "audit:root"');
  });

  it('takes a PEM or JWK public key, and refuses a private key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pk-'));
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = join(dir, 'pub.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    const jwk = join(dir, 'pub.jwk');
    writeFileSync(jwk, JSON.stringify(publicKey.export({ format: 'jwk' })));
    const priv = join(dir, 'priv.pem');
    writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const base = { AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' };
    expect(run({ ...base, AUTH_PUBLIC_KEY_FILE: pem }).auth.jwt?.publicKey?.asymmetricKeyType).toBe('ec');
    expect(run({ ...base, AUTH_PUBLIC_KEY_FILE: jwk }).auth.jwt?.publicKey?.asymmetricKeyType).toBe('ec');
    expect(errorOf({ ...base, AUTH_PUBLIC_KEY_FILE: priv })).toContain(
      'give the public key, not the private one',
    );
  });

  it('refuses unknown flags and answers --help and --version', () => {
    expect(errorOf({}, ['--prot', '1'])).toMatch(/Unknown option '--prot'.*see --help/);
    expect(loadConfig(['--help'], {}).kind).toBe('help');
    expect(loadConfig(['--version'], {}).kind).toBe('version');
  });
});

describe('loadConfig in stdio mode', () => {
  it('ignores HOST, which only matters for HTTP', () => {
    expect(run({ HOST: '0.0.0.0' }, ['--stdio']).transport).toBe('stdio');
  });
});
