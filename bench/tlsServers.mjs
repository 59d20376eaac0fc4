#!/usr/bin/env node
// 50 HTTPS servers on 127.0.0.1 with one self-signed certificate, in their own process so the
// benchmark's client side has its event loop to itself. Prints the ports as JSON, then serves.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { connect as tcpConnect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const n = Number(process.argv[2] ?? 50);
/** With a delay, each server sits behind a proxy that holds every new connection this long (a simulated round trip). */
const delayMs = Number(process.argv[3] ?? 0);
const dir = mkdtempSync(join(tmpdir(), 'bench-tls-'));
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'k.pem'),
    '-out',
    join(dir, 'c.pem'),
    '-subj',
    '/CN=localhost',
    '-days',
    '30',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ],
  { stdio: 'ignore' },
);
const key = readFileSync(join(dir, 'k.pem'));
const cert = readFileSync(join(dir, 'c.pem'));
rmSync(dir, { recursive: true, force: true });
const ports = [];
for (let i = 0; i < n; i++) {
  const s = createServer({ key, cert }, (_req, res) => res.end('ok'));
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  if (delayMs <= 0) {
    ports.push(s.address().port);
    continue;
  }
  const inner = s.address().port;
  const proxy = createTcpServer((client) => {
    client.pause();
    setTimeout(() => {
      const upstream = tcpConnect(inner, '127.0.0.1', () => {
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    }, delayMs);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  ports.push(proxy.address().port);
}
process.stdout.write(`${JSON.stringify(ports)}\n`);
