/** Published ports in both syntaxes: which container ports are reachable on which host address. */
import { get, type LNode, type Loc, str } from './nodes.js';

export interface Published {
  hostIp: string;
  /** Container ports (a range is expanded, capped). */
  targets: number[];
  published: string;
  loc: Loc;
}

/** Databases and caches that should not face the network (IANA / vendor defaults). */
export const DATABASE_PORTS: Record<number, string> = {
  1433: 'SQL Server',
  1521: 'Oracle',
  2379: 'etcd',
  3306: 'MySQL/MariaDB',
  33060: 'MySQL X',
  5432: 'PostgreSQL',
  5984: 'CouchDB',
  6379: 'Redis',
  6380: 'Redis',
  7474: 'Neo4j',
  7687: 'Neo4j Bolt',
  8086: 'InfluxDB',
  8123: 'ClickHouse HTTP',
  8529: 'ArangoDB',
  9042: 'Cassandra',
  9200: 'Elasticsearch',
  9300: 'Elasticsearch transport',
  11211: 'Memcached',
  26257: 'CockroachDB',
  27017: 'MongoDB',
  27018: 'MongoDB',
  28015: 'RethinkDB',
};

const MAX_RANGE = 1000;

export function publishedPorts(service: LNode): Published[] {
  const seq = get(service, 'ports');
  if (seq?.kind !== 'seq') return [];
  const out: Published[] = [];
  for (const it of seq.items) {
    if (it.kind === 'map') {
      const t = Number(str(get(it, 'target')));
      if (!Number.isInteger(t)) continue;
      out.push({
        hostIp: str(get(it, 'host_ip')) ?? '',
        targets: [t],
        published: str(get(it, 'published')) ?? '(random)',
        loc: it.loc,
      });
    } else if (it.kind === 'scalar' && it.value !== null) {
      const p = parseShort(String(it.value));
      if (p) out.push({ ...p, loc: it.loc });
    }
  }
  return out;
}

/** "[ip:][host:]container[/proto]", ip possibly in brackets (IPv6). */
function parseShort(text: string): Omit<Published, 'loc'> | undefined {
  let s = text.replace(/\/(tcp|udp|sctp)$/i, '');
  let hostIp = '';
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (v6) {
    hostIp = v6[1] ?? '';
    s = v6[2] ?? '';
  }
  const parts = s.split(':');
  if (!v6 && parts.length === 3) hostIp = parts.shift() ?? '';
  else if (parts.length > 2) return undefined;
  const container = parts[parts.length - 1] ?? '';
  const published = parts.length === 2 ? (parts[0] ?? '') : '(random)';
  const m = /^(\d+)(?:-(\d+))?$/.exec(container);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Math.min(Number(m[2] ?? m[1]), from + MAX_RANGE);
  const targets: number[] = [];
  for (let p = from; p <= to; p++) targets.push(p);
  return { hostIp, targets, published: published || '(random)' };
}

export function onAllInterfaces(hostIp: string): boolean {
  return hostIp === '' || hostIp === '0.0.0.0' || hostIp === '::' || hostIp === '[::]';
}
