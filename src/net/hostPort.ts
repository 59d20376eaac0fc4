import { isIP } from 'node:net';

/**
 * Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address; undefined when malformed
 * or the port is outside 1-65535 (port 0 trips an assertion inside node's DNS resolver).
 */
export function splitHostPort(s: string, defaultPort: number): { host: string; port: number } | undefined {
  if (isIP(s) === 6) return { host: s, port: defaultPort };
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  if (!m || !host) return undefined;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}
