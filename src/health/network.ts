import type { CheckEnv } from '../audit/health/checkEnv.js';
import {
  analyzeInterfaces,
  analyzeRetransmits,
  analyzeSockets,
  countTcpStates,
  parseNetDev,
  parseSnmpTcp,
  type SocketCounts,
} from '../audit/health/networkAnalysis.js';
import { emptyResult, type GroupResult, mergeResults } from '../audit/health/types.js';
import { under } from '../host/hostPaths.js';
import { readText } from '../host/readFiles.js';

/** /proc/net/tcp holds ~150 bytes a socket; this covers ~400k sockets. */
const TCP_TABLE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The host's network namespace is PID 1's: through a mounted host /proc, /proc/net would be
 * the reader's own namespace (it is a link to self/net). Falls back to /proc/net on trees
 * without PID 1.
 */
async function readNet(env: CheckEnv, file: string, maxBytes?: number): Promise<string | undefined> {
  return (
    (await readText(under(env.paths.proc, `/1/net/${file}`), maxBytes)) ??
    (await readText(under(env.paths.proc, `/net/${file}`), maxBytes))
  );
}

export async function checkNetwork(env: CheckEnv): Promise<GroupResult> {
  const [ifaces, retrans, sockets] = await Promise.all([
    interfaces(env),
    readNet(env, 'snmp').then((text) => {
      const tcp = text === undefined ? undefined : parseSnmpTcp(text);
      return tcp
        ? analyzeRetransmits(tcp, env.thresholds)
        : { ...emptyResult(), notes: ['tcp: cannot read the Tcp counters in /proc/net/snmp'] };
    }),
    socketStates(env),
  ]);
  return mergeResults(ifaces, retrans, sockets);
}

async function interfaces(env: CheckEnv): Promise<GroupResult> {
  const text = await readNet(env, 'dev');
  if (text === undefined) return { ...emptyResult(), notes: ['net: cannot read /proc/net/dev'] };
  const list = parseNetDev(text);
  const mtu: Record<string, number> = {};
  await Promise.all(
    list.map(async (i) => {
      // Interface names come from the kernel's own table, but keep path tricks out all the same.
      if (!/^[\w.@:-]+$/.test(i.name)) return;
      const value = Number((await readText(under(env.paths.sys, `/class/net/${i.name}/mtu`)))?.trim());
      if (Number.isInteger(value) && value > 0) mtu[i.name] = value;
    }),
  );
  return analyzeInterfaces(list, mtu, env.thresholds);
}

async function socketStates(env: CheckEnv): Promise<GroupResult> {
  const counts: SocketCounts = { established: 0, time_wait: 0, listen: 0 };
  const [v4, v6] = await Promise.all([
    readNet(env, 'tcp', TCP_TABLE_MAX_BYTES),
    readNet(env, 'tcp6', TCP_TABLE_MAX_BYTES),
  ]);
  if (v4 === undefined && v6 === undefined) {
    return { ...emptyResult(), notes: ['tcp: cannot read /proc/net/tcp or tcp6: socket counts unavailable'] };
  }
  if (v4 !== undefined) countTcpStates(v4, counts);
  if (v6 !== undefined) countTcpStates(v6, counts);
  return analyzeSockets(counts, env.thresholds);
}
