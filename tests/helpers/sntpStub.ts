/**
 * An SNTP server on 127.0.0.1 for tests (real UDP): answers with its clock shifted by
 * `offsetMs`, or misbehaves on request (silent, malformed, kiss-o'-death, spoofed originate).
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readNtpTime, writeNtpTime } from '../../src/audit/clock/sntp.js';

export type SntpMode = 'ok' | 'silent' | 'malformed' | 'kiss' | 'spoof' | 'unsynchronised';

export interface SntpStub {
  server: string;
  port: number;
  offsetMs: number;
  mode: SntpMode;
  queries: number;
  close(): Promise<void>;
}

export async function startSntpStub(offsetMs = 0): Promise<SntpStub> {
  const socket = createSocket('udp4');
  const stub: SntpStub = {
    server: '',
    port: 0,
    offsetMs,
    mode: 'ok',
    queries: 0,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    stub.queries++;
    if (stub.mode === 'silent' || msg.length < 48) return;
    if (stub.mode === 'malformed') {
      socket.send(Buffer.from('not ntp'), rinfo.port, rinfo.address);
      return;
    }
    const now = performance.timeOrigin + performance.now() + stub.offsetMs;
    const r = Buffer.alloc(48);
    r[0] = ((stub.mode === 'unsynchronised' ? 3 : 0) << 6) | (4 << 3) | 4;
    r[1] = stub.mode === 'kiss' ? 0 : 2;
    r.write(stub.mode === 'kiss' ? 'RATE' : '\u00c0\u0000\u0002\u0001', 12, 'latin1');
    writeNtpTime(r, 16, now - 1000);
    if (stub.mode === 'spoof') writeNtpTime(r, 24, readNtpTime(msg, 40) - 5000);
    else msg.copy(r, 24, 40, 48);
    writeNtpTime(r, 32, now);
    writeNtpTime(r, 40, now + 0.05);
    socket.send(r, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  stub.port = socket.address().port;
  stub.server = `127.0.0.1:${stub.port}`;
  return stub;
}
