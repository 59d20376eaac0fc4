/**
 * A tiny authoritative DNS server on 127.0.0.1 for tests: PTR, A and AAAA from maps, NXDOMAIN
 * otherwise, or silence (every query dropped) to simulate a dead resolver. Real UDP, real packets
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
  close(): Promise<void>;
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

export async function startDnsStub(records: {
  ptr?: Record<string, string[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
}): Promise<DnsStub> {
  const ptr = new Map(Object.entries(records.ptr ?? {}).map(([ip, names]) => [reverseName(ip), names]));
  const socket: Socket = createSocket('udp4');
  const stub: DnsStub = {
    server: '',
    queries: [],
    silent: false,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions?.[0];
    if (!question) return;
    stub.queries.push(`${question.type} ${question.name}`);
    if (stub.silent) return;
    const name = question.name.toLowerCase();
    let answers: dnsPacket.Answer[] = [];
    if (question.type === 'PTR')
      answers = (ptr.get(name) ?? []).map((data) => ({ type: 'PTR', name: question.name, ttl: 60, data }));
    else if (question.type === 'A')
      answers = (records.a?.[name] ?? []).map((data) => ({ type: 'A', name: question.name, ttl: 60, data }));
    else if (question.type === 'AAAA')
      answers = (records.aaaa?.[name] ?? []).map((data) => ({
        type: 'AAAA',
        name: question.name,
        ttl: 60,
        data,
      }));
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (answers.length === 0 ? 3 : 0), // rcode 3: NXDOMAIN
      questions: q.questions,
      answers,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  stub.server = `127.0.0.1:${socket.address().port}`;
  return stub;
}
