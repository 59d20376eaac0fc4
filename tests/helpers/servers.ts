import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type Config, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { type RunningHttp, startHttp } from '../../src/runtime.js';
import type { SessionStore } from '../../src/session/sessionStore.js';
import type { AuditLog } from '../../src/observability/auditLog.js';
import type { AppDeps } from '../../src/app.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURES = join(ROOT, 'tests', 'fixtures');

/** HOST_* variables pointing at one of the synthetic host trees. */
export function fixtureHostEnv(name: string): Record<string, string> {
  const base = join(FIXTURES, 'hosts', name);
  return { HOST_PROC: join(base, 'proc'), HOST_SYS: join(base, 'sys'), HOST_ROOT: join(base, 'root') };
}

/** A fresh, empty DATA_DIR so tests never share baselines (or write into the checkout). */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'server-audit-test-'));
}

export function configFrom(env: Record<string, string>, argv: string[] = []): Config {
  const action = loadConfig(argv, { PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: tempDataDir(), ...env });
  if (action.kind !== 'run') throw new Error('expected a run config');
  return action.config;
}

/** The real server in this process on a free loopback port. */
export async function startInProcess(
  env: Record<string, string> = {},
  opts: { store?: SessionStore; audit?: AuditLog; tools?: AppDeps['tools'] } = {},
): Promise<RunningHttp> {
  const config = configFrom(env);
  // The audit trail goes to stdout by default; tests that read it set AUDIT_LOG_FILE or pass one.
  const audit = opts.audit ?? (config.AUDIT_LOG_FILE ? undefined : () => undefined);
  return startHttp(config, createLogger(config.LOG_LEVEL), { ...opts, ...(audit ? { audit } : {}) });
}

export async function connectClient(url: string, name = 'test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
  stderr: () => string;
}

/** The built server (dist/server.js) as a child process; resolves once it logs "listening". */
export async function spawnServer(env: Record<string, string> = {}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'server.js')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', DATA_DIR: tempDataDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'listening' && rec.url) resolve(rec.url);
      } catch {
        // not a log line
      }
    });
    void exit.then((code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { child, url, exit, stderr: () => err };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, for headers fetch() will not let a test set (Host) or bodies it must shape. */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

export function initializeBody(protocolVersion = '2025-11-25', id = 1): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '1' } },
  });
}

/** The JSON-RPC messages in an SSE or JSON response body. */
export function rpcMessages(body: string): Array<Record<string, unknown>> {
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return [JSON.parse(trimmed)].flat();
  return body
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l.length > 6)
    .map((l) => JSON.parse(l.slice(6)));
}
