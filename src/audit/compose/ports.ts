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

/**
 * Debuggers and message brokers / admin APIs that must not face the network. Sources: each
 * project's documented default port (Node.js inspector docs; JDWP as the JVM's
 * -agentlib:jdwp convention; debugpy, delve, Chrome DevTools docs; Apache Kafka, Confluent
 * Platform, Redpanda, RabbitMQ, NATS, ActiveMQ, Pulsar, ZooKeeper, MQTT (IANA), Docker Engine,
 * Consul, Nomad). A port other software commonly uses too is only reported when the service
 * confirms it (`confirm` matches its image, command, entrypoint or environment).
 */
export interface ExposureRule {
  what: string;
  kind: 'debugger' | 'broker';
  confirm?: RegExp;
  /** Worse than the rule's default (an API that gives root on the host). */
  critical?: boolean;
}
const KAFKA = /kafka|redpanda|confluent|strimzi/i;
export const EXPOSED_SERVICE_PORTS: Record<number, ExposureRule> = {
  5858: { what: 'Node.js legacy debugger', kind: 'debugger' },
  9229: { what: 'Node.js inspector', kind: 'debugger' },
  9230: { what: 'Node.js inspector', kind: 'debugger' },
  5005: { what: 'Java debugger (JDWP)', kind: 'debugger' },
  5678: { what: 'Python debugger (debugpy)', kind: 'debugger', confirm: /debugpy|ptvsd/i },
  2345: { what: 'Go debugger (delve)', kind: 'debugger' },
  9222: { what: 'Chrome DevTools remote debugging', kind: 'debugger', confirm: /remote-debugging|chrom/i },
  2375: { what: 'Docker Engine API without TLS', kind: 'broker', critical: true },
  9092: { what: 'Kafka', kind: 'broker' },
  29092: { what: 'Kafka', kind: 'broker' },
  9093: { what: 'Kafka', kind: 'broker', confirm: KAFKA },
  9094: { what: 'Kafka', kind: 'broker', confirm: KAFKA },
  19092: { what: 'Kafka (Redpanda)', kind: 'broker', confirm: KAFKA },
  9644: { what: 'Redpanda admin API', kind: 'broker' },
  19644: { what: 'Redpanda admin API', kind: 'broker', confirm: /redpanda/i },
  8081: { what: 'Schema Registry', kind: 'broker', confirm: /schema-?registry|redpanda|karapace|apicurio/i },
  18081: { what: 'Schema Registry', kind: 'broker', confirm: /redpanda/i },
  8082: { what: 'Kafka REST proxy', kind: 'broker', confirm: /rest-?proxy|kafka-rest|redpanda/i },
  8083: {
    what: 'Kafka Connect REST API',
    kind: 'broker',
    confirm: /kafka-?connect|cp-kafka-connect|debezium/i,
  },
  8088: { what: 'ksqlDB', kind: 'broker', confirm: /ksql/i },
  2181: { what: 'ZooKeeper', kind: 'broker' },
  5672: { what: 'AMQP (RabbitMQ, ActiveMQ)', kind: 'broker' },
  5671: { what: 'AMQP over TLS', kind: 'broker' },
  15672: { what: 'RabbitMQ management API', kind: 'broker' },
  15671: { what: 'RabbitMQ management API', kind: 'broker' },
  25672: { what: 'RabbitMQ inter-node (Erlang distribution)', kind: 'broker' },
  4369: { what: 'Erlang port mapper (epmd)', kind: 'broker' },
  4222: { what: 'NATS', kind: 'broker' },
  6222: { what: 'NATS cluster routes', kind: 'broker' },
  8222: { what: 'NATS monitoring API', kind: 'broker', confirm: /nats/i },
  61616: { what: 'ActiveMQ OpenWire', kind: 'broker' },
  61613: { what: 'STOMP (ActiveMQ)', kind: 'broker' },
  8161: { what: 'ActiveMQ web console', kind: 'broker', confirm: /activemq|artemis/i },
  6650: { what: 'Pulsar', kind: 'broker' },
  1883: { what: 'MQTT', kind: 'broker' },
  8883: { what: 'MQTT over TLS', kind: 'broker' },
  8500: { what: 'Consul HTTP API', kind: 'broker', confirm: /consul/i },
  4646: { what: 'Nomad HTTP API', kind: 'broker', confirm: /nomad/i },
};

/**
 * Images that are brokers (or their coordination/admin services) through and through: every
 * port they publish is a broker listener, JMX or admin API, whatever number it was given
 * (ZooKeeper on 2182, a second Kafka listener on 29093 ...). Matched on the repository's last
 * path component, so UIs named after them (kafka-ui) do not count.
 */
export const BROKER_IMAGE =
  /^(kafka|cp-kafka|cp-server|cp-zookeeper|zookeeper|cp-schema-registry|cp-kafka-rest|cp-kafka-connect|cp-ksqldb-server|ksqldb-server|redpanda|rabbitmq|nats|activemq|activemq-classic|activemq-artemis|artemis|pulsar|eclipse-mosquitto|mosquitto|emqx|vernemq)$/;

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
