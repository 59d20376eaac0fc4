import { createSocket } from 'node:dgram';
import { buildRequest, type NtpSample, parseReply } from '../audit/clock/sntp.js';

/** Sub-millisecond wall clock: Date.now() alone would blur offsets by up to 1 ms. */
const now = () => performance.timeOrigin + performance.now();

/** One SNTP exchange with `address:port` over UDP; rejects on timeout (ABORT_ERR) or a bad reply. */
export function sntpQuery(
  address: string,
  port: number,
  family: 4 | 6,
  signal: AbortSignal,
): Promise<NtpSample> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    let t1 = 0;
    let request: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, sample?: NtpSample) => {
      signal.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(sample as NtpSample);
    };
    const onAbort = () => finish(Object.assign(new Error('no NTP reply in time'), { code: 'ABORT_ERR' }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg, rinfo) => {
      // Replies from anyone but the server we asked are ignored, not trusted.
      if (rinfo.address !== address || rinfo.port !== port) return;
      const t4 = now();
      try {
        finish(null, parseReply(msg, request, t1, t4));
      } catch (err) {
        finish(err as Error);
      }
    });
    t1 = now();
    request = buildRequest(t1);
    socket.send(request, port, address);
  });
}
