/**
 * A tiny authoritative DNS server on 127.0.0.1 for tests: PTR, A, AAAA and other records from
 * maps; NXDOMAIN for unknown names, NODATA for known names without the asked type, SERVFAIL on
 * request; or silence (timeouts) or garbage (malformed replies). Real UDP, real packets
 * (dns-packet), so the code under test uses node's real resolver against it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';

export interface DnsStub {
  /** "127.0.0.1:PORT" for DNS_SERVERS. */
  server: string;
  /** Queries received, as "TYPE name". */
  queries: string[];
  /** When true, queries go unanswered (timeouts). */
  silent: boolean;
  /** When true, every reply is a few garbage bytes. */
  malformed: boolean;
  close(): Promise<void>;
}

export interface StubRecords {
  ptr?: Record<string, string[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  /** Other records: MX { preference, exchange }, TXT string[], NS/CNAME string, CAA { flags, tag, value }. */
  other?: Array<{ type: 'MX' | 'TXT' | 'NS' | 'CNAME' | 'CAA'; name: string; data: unknown }>;
  /** Names answered with SERVFAIL. */
  servfail?: string[];
}

/** The in-addr.arpa / ip6.arpa name of an address. */
export function reverseName(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const full = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
    .map((g) => g.padStart(4, '0'))
    .join('');
  return `${[...full].reverse().join('.')}.ip6.arpa`;
}

export async function startDnsStub(records: StubRecords): Promise<DnsStub> {
  const ptr = new Map(Object.entries(records.ptr ?? {}).map(([ip, names]) => [reverseName(ip), names]));
  const socket: Socket = createSocket('udp4');
  const stub: DnsStub = {
    server: '',
    queries: [],
    silent: false,
    malformed: false,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (!question) return;
    stub.queries.push(`${question.type} ${question.name}`);
    if (stub.silent) return;
    if (stub.malformed) {
      socket.send(Buffer.from([0x12, 0x34, 0x81]), rinfo.port, rinfo.address);
      return;
    }
    const name = question.name.toLowerCase();
    const answer = (type: string, data: unknown) =>
      ({ type, name: question.name, ttl: 60, data }) as dnsPacket.Answer;
    let answers: dnsPacket.Answer[];
    if (question.type === 'PTR') answers = (ptr.get(name) ?? []).map((d) => answer('PTR', d));
    else if (question.type === 'A') answers = (own(records.a, name) ?? []).map((d) => answer('A', d));
    else if (question.type === 'AAAA')
      answers = (own(records.aaaa, name) ?? []).map((d) => answer('AAAA', d));
    else
      answers = (records.other ?? [])
        .filter((r) => r.type === question.type && r.name === name)
        .map((r) => answer(r.type, r.data));
    const known =
      answers.length > 0 ||
      ptr.has(name) ||
      Boolean(own(records.a, name) || own(records.aaaa, name)) ||
      (records.other ?? []).some((r) => r.name === name);
    const rcode = records.servfail?.includes(name) ? 2 : known ? 0 : 3; // 2 SERVFAIL, 3 NXDOMAIN
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | rcode,
      questions: q.questions,
      answers: rcode === 0 ? answers : [],
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  stub.server = `127.0.0.1:${socket.address().port}`;
  return stub;
}

/** A record by name, never an Object.prototype member (a query for "constructor" is just unknown). */
function own(map: Record<string, string[]> | undefined, name: string): string[] | undefined {
  return map && Object.hasOwn(map, name) ? map[name] : undefined;
}
