/**
 * Real peers started by tests on free loopback ports: redis-server and HAProxy (Debian packages,
 * installed by .ci/run). Under CI=true a missing binary fails the suite; elsewhere the caller
 * may skip with a message.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasBinary(name: string): boolean {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fails under CI when a peer is missing; returns whether it is there. */
export function requirePeer(name: string, apt: string): boolean {
  const ok = hasBinary(name);
  if (!ok && process.env.CI === 'true')
    throw new Error(`${name} is not installed: apt-get install ${apt} (.ci/run does)`);
  return ok;
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

export async function waitForPort(port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisPeer {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  start(): Promise<void>;
  /** Sends the server a signal (SIGSTOP freezes it, SIGCONT thaws it). */
  signal(sig: NodeJS.Signals): void;
}

export async function startRedis(): Promise<RedisPeer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const peer: RedisPeer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await waitForPort(port);
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      child.kill('SIGCONT'); // a frozen server cannot die
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    signal(sig) {
      child?.kill(sig);
    },
  };
  await peer.start();
  return peer;
}

/** HAProxy round-robin over the given backends, no stickiness; health-checks /health. */
export async function startHaproxy(backends: number[]): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 2000',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  timeout check 3s',
      '  retries 3',
      '  option redispatch',
      `frontend mcp`,
      `  bind 127.0.0.1:${port}`,
      '  default_backend servers',
      'backend servers',
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  http-check expect status 200',
      '  retry-on conn-failure empty-response response-timeout',
      ...backends.map((p, i) => `  server s${i} 127.0.0.1:${p} check inter 500ms fall 3 rise 1`),
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
  await waitForPort(port);
  // Ready once a health check has passed and a request gets through to a backend.
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (i > 100) throw new Error('HAProxy never routed to a healthy backend');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The shipped deploy/haproxy/haproxy.cfg, pointed at the given backends on loopback: the same
 * frontend rules (which requests may be replayed), retries, timeouts and /ready checks, with the
 * Docker DNS server-template replaced by fixed servers and the ports made free ones.
 */
export async function startShippedHaproxy(
  backends: number[],
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const healthPort = await freePort();
  const shipped = readFileSync(
    join(import.meta.dirname, '..', '..', 'deploy', 'haproxy', 'haproxy.cfg'),
    'utf8',
  );
  const cfgText = shipped
    .replace(/^resolvers docker[\s\S]*?(?=^defaults)/m, '')
    .replace(/^(\s*)bind :3000$/m, `$1bind 127.0.0.1:${port}`)
    .replace(/^(\s*)bind 127\.0\.0\.1:8405$/m, `$1bind 127.0.0.1:${healthPort}`)
    .replace(/^(\s*)log stdout.*$/m, '')
    .replace(/^(\s*)default-server .*$/m, '$1default-server check inter 500ms fall 2 rise 1')
    .replace(
      /^(\s*)server-template .*$/m,
      backends.map((p, i) => `    server s${i} 127.0.0.1:${p}`).join('\n'),
    );
  if (!cfgText.includes(`bind 127.0.0.1:${port}`) || !cfgText.includes('server s0 '))
    throw new Error('deploy/haproxy/haproxy.cfg changed shape: update startShippedHaproxy');
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-shipped-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, cfgText);
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
  await waitForPort(port);
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (i > 200) throw new Error('HAProxy never routed to a healthy backend');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
