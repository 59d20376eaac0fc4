/** Pure analysis of the "network" check group: interfaces, TCP retransmits, sockets. */
import type { Finding } from '../findings.js';
import { grade, type Thresholds } from './thresholds.js';
import { emptyResult, type GroupResult } from './types.js';

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDrops: number;
}

/** /proc/net/dev: two header lines, then "  eth0: rx(8 fields) tx(8 fields)". */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    if (v.length < 16 || v.some((n) => !Number.isFinite(n))) continue;
    const at = (i: number) => v[i] as number;
    out.push({
      name: m[1],
      rxBytes: at(0),
      rxPackets: at(1),
      rxErrors: at(2),
      rxDrops: at(3),
      txBytes: at(8),
      txPackets: at(9),
      txErrors: at(10),
      txDrops: at(11),
    });
  }
  return out;
}

/** Fewer packets than this since boot say nothing about a link's error rate. */
const MIN_PACKETS = 10_000;
/** Interfaces whose MTU is lowered by design (tunnels, VPNs, PPP). */
const TUNNEL =
  /^(lo|tun|tap|wg|ppp|gre|gretap|ip6tnl|sit|vti|ipip|tailscale|zt|nebula|veth|docker|br-|virbr|cni|flannel|cali|vxlan)/;

export function analyzeInterfaces(
  ifaces: InterfaceCounters[],
  mtu: Record<string, number>,
  t: Thresholds,
): GroupResult {
  const r = emptyResult();
  for (const i of ifaces) {
    if (i.name === 'lo') continue;
    const key = `net.${i.name}`;
    r.metrics[`${key}.rx_errors`] = i.rxErrors;
    r.metrics[`${key}.rx_drops`] = i.rxDrops;
    r.metrics[`${key}.tx_errors`] = i.txErrors;
    r.metrics[`${key}.tx_drops`] = i.txDrops;
    r.metrics[`${key}.rx_bytes`] = i.rxBytes;
    r.metrics[`${key}.tx_bytes`] = i.txBytes;
    const packets = i.rxPackets + i.txPackets;
    const bad = i.rxErrors + i.rxDrops + i.txErrors + i.txDrops;
    if (packets >= MIN_PACKETS) {
      const percent = (bad / packets) * 100;
      r.metrics[`${key}.error_percent`] = Math.round(percent * 1000) / 1000;
      const severity = grade(percent, t.netErrorPercent);
      if (severity) {
        r.findings.push({
          id: `net.errors:${i.name}`,
          severity,
          title: `${i.name}: ${percent.toFixed(2)}% of packets errored or dropped`,
          evidence: `since boot: rx errors ${i.rxErrors}, rx drops ${i.rxDrops}, tx errors ${i.txErrors}, tx drops ${i.txDrops} of ${packets} packets`,
          recommendation: `Look at the link (ethtool -S ${i.name}, ip -s link show ${i.name}): errors point at cabling, duplex or driver; drops at full ring buffers (ethtool -g) or a saturated CPU.`,
        });
      }
    }
    const m = mtu[i.name];
    if (m === undefined) continue;
    r.metrics[`${key}.mtu`] = m;
    if (TUNNEL.test(i.name) || m >= 1500) continue;
    r.findings.push({
      id: `net.mtu:${i.name}`,
      severity: m < 1280 ? 'medium' : 'low',
      title: `${i.name} has MTU ${m}`,
      evidence: `MTU ${m} on an ethernet-like interface (1500 is the norm${m < 1280 ? '; IPv6 needs at least 1280' : ''})`,
      recommendation: `Confirm the network needs it; a too-small MTU fragments traffic and breaks path-MTU discovery. Set it with "ip link set ${i.name} mtu 1500" and in the network config.`,
    });
  }
  return r;
}

/** The Tcp: header/value line pair of /proc/net/snmp as a map. */
export function parseSnmpTcp(text: string): Record<string, number> | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('Tcp:'));
  if (lines.length < 2) return undefined;
  const names = (lines[0] as string).split(/\s+/).slice(1);
  const values = (lines[1] as string).split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? Number.NaN]));
}

export function analyzeRetransmits(tcp: Record<string, number>, t: Thresholds): GroupResult {
  const r = emptyResult();
  const out = tcp.OutSegs;
  const retrans = tcp.RetransSegs;
  if (!Number.isFinite(out) || !Number.isFinite(retrans)) {
    r.notes.push('tcp: /proc/net/snmp lacks OutSegs or RetransSegs');
    return r;
  }
  r.metrics['tcp.out_segments'] = out as number;
  r.metrics['tcp.retrans_segments'] = retrans as number;
  if (Number.isFinite(tcp.InErrs)) r.metrics['tcp.in_errors'] = tcp.InErrs as number;
  if ((out as number) < MIN_PACKETS) return r;
  const percent = ((retrans as number) / (out as number)) * 100;
  r.metrics['tcp.retrans_percent'] = Math.round(percent * 1000) / 1000;
  const severity = grade(percent, t.tcpRetransPercent);
  if (severity) {
    r.findings.push({
      id: 'tcp.retransmits',
      severity,
      title: `${percent.toFixed(2)}% of TCP segments retransmitted`,
      evidence: `since boot: RetransSegs ${retrans} of OutSegs ${out}`,
      recommendation:
        'Retransmits mean loss or congestion on the path: check interface errors, "ss -ti" for the affected peers, and the upstream link; compare_baselines shows whether it is recent.',
    });
  }
  return r;
}

/** TCP states in /proc/net/tcp{,6} (column "st", hex). */
const TCP_STATE = { '01': 'established', '06': 'time_wait', '0A': 'listen' } as const;
export type SocketCounts = Record<(typeof TCP_STATE)[keyof typeof TCP_STATE], number>;

/** Counts sockets by state in /proc/net/tcp or tcp6 text, adding to `into`. */
export function countTcpStates(text: string, into: SocketCounts): SocketCounts {
  let start = text.indexOf('\n') + 1; // skip the header
  while (start > 0 && start < text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end);
    // "  0: 0100007F:0CEA 00000000:0000 0A ...": the 4th field is the state.
    const st = line.trim().split(/\s+/, 4)[3]?.toUpperCase() as keyof typeof TCP_STATE | undefined;
    const name = st ? TCP_STATE[st] : undefined;
    if (name) into[name]++;
    start = end < 0 ? -1 : end + 1;
  }
  return into;
}

export function analyzeSockets(c: SocketCounts, t: Thresholds): GroupResult {
  const r = emptyResult();
  r.metrics['tcp.listen'] = c.listen;
  r.metrics['tcp.established'] = c.established;
  r.metrics['tcp.time_wait'] = c.time_wait;
  const severity = grade(c.time_wait, t.timeWaitSockets);
  if (severity) {
    const f: Finding = {
      id: 'tcp.time_wait',
      severity,
      title: `${c.time_wait} TCP sockets in TIME_WAIT`,
      evidence: `${c.time_wait} TIME_WAIT, ${c.established} ESTABLISHED, ${c.listen} LISTEN`,
      recommendation:
        'Many short-lived outbound connections exhaust ephemeral ports: use keep-alive or connection pooling to upstreams (databases, backends), and widen net.ipv4.ip_local_port_range if needed.',
    };
    r.findings.push(f);
  }
  return r;
}
