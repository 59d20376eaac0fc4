/**
 * Clients never recommended for blocking: IPs and CIDRs (matched with ipaddr.js) and user-agent
 * substrings (case-insensitive; substrings rather than regexes, so an entry cannot be a ReDoS).
 */
import ipaddr from 'ipaddr.js';

export interface Allowlist {
  ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  uaSubstrings: string[];
}

export const emptyAllowlist = (): Allowlist => ({ ranges: [], uaSubstrings: [] });

/**
 * Entries: `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`, or `ua:UptimeRobot`. Returns the
 * invalid entries separately so callers can refuse them with a clear message.
 */
export function parseAllowlist(
  entries: string[],
  into: Allowlist = emptyAllowlist(),
): { allowlist: Allowlist; invalid: string[] } {
  const invalid: string[] = [];
  for (const raw of entries) {
    const e = raw.trim();
    if (e === '' || e.startsWith('#')) continue;
    if (e.toLowerCase().startsWith('ua:')) {
      const sub = e.slice(3).trim().toLowerCase();
      if (sub.length >= 3) into.uaSubstrings.push(sub);
      else invalid.push(e);
      continue;
    }
    try {
      if (e.includes('/')) into.ranges.push(ipaddr.parseCIDR(e));
      else {
        const a = ipaddr.process(e);
        into.ranges.push([a, a.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      invalid.push(e);
    }
  }
  return { allowlist: into, invalid };
}

export function isAllowlisted(list: Allowlist, ip: string, ua: string): boolean {
  if (list.uaSubstrings.length > 0) {
    const lower = ua.toLowerCase();
    if (list.uaSubstrings.some((s) => lower.includes(s))) return true;
  }
  if (list.ranges.length === 0) return false;
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.process(ip);
  } catch {
    return false;
  }
  return list.ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net as never, bits));
}
