/**
 * Ready-to-run block lines for the operator, built only from addresses that ipaddr.js parsed and
 * re-printed: nothing from the log is interpolated as is.
 */
import ipaddr from 'ipaddr.js';

export interface BlockTarget {
  /** An IP or CIDR as given; validated here. */
  address: string;
  reason: string;
}

export interface BlockRecommendations {
  addresses: string[];
  nftables: string[];
  iptables: string[];
  csf: string[];
  nginx: string[];
}

/** The canonical form of an IP or CIDR, or undefined when it is neither. */
export function canonicalAddress(s: string): { text: string; v6: boolean } | undefined {
  try {
    if (s.includes('/')) {
      const [addr, bits] = ipaddr.parseCIDR(s);
      // Zero the host bits: 203.0.113.7/24 -> 203.0.113.0/24.
      const network =
        addr.kind() === 'ipv4'
          ? ipaddr.IPv4.networkAddressFromCIDR(s)
          : ipaddr.IPv6.networkAddressFromCIDR(s);
      return { text: `${network.toString()}/${bits}`, v6: addr.kind() === 'ipv6' };
    }
    if (!ipaddr.isValid(s)) return undefined;
    const a = ipaddr.process(s); // IPv4-mapped IPv6 becomes IPv4
    return { text: a.toString(), v6: a.kind() === 'ipv6' };
  } catch {
    return undefined;
  }
}

/** Reasons are free text from our own analysis; keep them to a safe character set anyway. */
const safeComment = (s: string) => s.replace(/[^\w .,:/()-]/g, '').slice(0, 80);

export function blockRecommendations(targets: BlockTarget[]): BlockRecommendations {
  const v4: string[] = [];
  const v6: string[] = [];
  const rec: BlockRecommendations = { addresses: [], nftables: [], iptables: [], csf: [], nginx: [] };
  const seen = new Set<string>();
  for (const t of targets) {
    const a = canonicalAddress(t.address);
    if (!a || seen.has(a.text)) continue;
    // Never wider than a /16 (IPv4) or /32 (IPv6): a "0.0.0.0/0" would block the world.
    const bits = a.text.includes('/') ? Number(a.text.split('/')[1]) : a.v6 ? 128 : 32;
    if (bits < (a.v6 ? 32 : 16)) continue;
    seen.add(a.text);
    rec.addresses.push(a.text);
    (a.v6 ? v6 : v4).push(a.text);
    const why = safeComment(t.reason);
    rec.iptables.push(
      `${a.v6 ? 'ip6tables' : 'iptables'} -I INPUT -s ${a.text} -j DROP -m comment --comment "${why}"`,
    );
    rec.csf.push(`csf -d ${a.text} "${why}"`);
    rec.nginx.push(`deny ${a.text};`);
  }
  if (v4.length + v6.length > 0) {
    rec.nftables.push(
      'nft add table inet audit_block',
      "nft add chain inet audit_block input '{ type filter hook input priority -10; policy accept; }'",
    );
    if (v4.length > 0) {
      rec.nftables.push(
        "nft add set inet audit_block deny4 '{ type ipv4_addr; flags interval; }'",
        `nft add element inet audit_block deny4 '{ ${v4.join(', ')} }'`,
        'nft add rule inet audit_block input ip saddr @deny4 drop',
      );
    }
    if (v6.length > 0) {
      rec.nftables.push(
        "nft add set inet audit_block deny6 '{ type ipv6_addr; flags interval; }'",
        `nft add element inet audit_block deny6 '{ ${v6.join(', ')} }'`,
        'nft add rule inet audit_block input ip6 saddr @deny6 drop',
      );
    }
  }
  return rec;
}

/** The /24 (IPv4) or /48 (IPv6) an address belongs to, as a CIDR. */
export function subnetOf(ip: string): string | undefined {
  const a = canonicalAddress(ip);
  if (!a || a.text.includes('/')) return undefined;
  return canonicalAddress(`${a.text}/${a.v6 ? 48 : 24}`)?.text;
}
