/**
 * One HTTP(S) exchange with timings, to an SSRF-checked address (the Host header and SNI carry
 * the name). Redirects are the caller's to follow, so each hop is checked again.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { ResolvedTarget } from './ssrf.js';

/** Bodies are counted, not kept; past this the download stops and the size is marked truncated. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface HttpExchange {
  status: number;
  headers: IncomingHttpHeaders;
  connectMs: number | null;
  tlsMs: number | null;
  firstByteMs: number;
  totalMs: number;
  bytes: number;
  truncated: boolean;
  tlsAuthorized: boolean | null;
  tlsError: string | null;
}

export function httpExchange(
  url: URL,
  resolved: ResolvedTarget,
  method: 'GET' | 'HEAD',
  signal: AbortSignal,
): Promise<HttpExchange> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const started = performance.now();
    const since = () => Math.round((performance.now() - started) * 10) / 10;
    let connectMs: number | null = null;
    let tlsMs: number | null = null;
    const port = url.port ? Number(url.port) : https ? 443 : 80;
    const options = {
      host: resolved.address,
      port,
      path: `${url.pathname}${url.search}`,
      method,
      headers: { host: url.host, 'user-agent': 'server-audit-mcp check_http', accept: '*/*' },
      signal,
      agent: false as const,
      ...(https ? { servername: resolved.host, rejectUnauthorized: false } : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(options, (res) => {
      const firstByteMs = since();
      const socket = res.socket as TLSSocket;
      let bytes = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) {
          truncated = true;
          res.destroy();
        }
      });
      const done = () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          connectMs,
          tlsMs,
          firstByteMs,
          totalMs: since(),
          bytes,
          truncated,
          tlsAuthorized: https ? socket.authorized : null,
          tlsError:
            https && socket.authorizationError
              ? String(
                  (socket.authorizationError as Error & { code?: string }).code ?? socket.authorizationError,
                )
              : null,
        });
      res.on('end', done);
      res.on('close', done);
      res.on('error', (err) => (truncated ? done() : reject(err)));
    });
    req.on('socket', (s) => {
      s.once('connect', () => (connectMs = since()));
      s.once('secureConnect', () => (tlsMs = since()));
    });
    req.on('error', reject);
    req.end();
  });
}
