/**
 * SNTP (RFC 4330) packets, pure: the 48-byte client request and the checks and arithmetic on a
 * reply. Times are epoch milliseconds with sub-millisecond fractions.
 */

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;

export function writeNtpTime(buf: Buffer, offset: number, ms: number): void {
  const seconds = Math.floor(ms / 1000) + NTP_UNIX_OFFSET;
  const fraction = Math.floor(((ms % 1000) / 1000) * 2 ** 32);
  buf.writeUInt32BE(seconds >>> 0, offset);
  buf.writeUInt32BE(fraction >>> 0, offset + 4);
}

export function readNtpTime(buf: Buffer, offset: number): number {
  const seconds = buf.readUInt32BE(offset);
  const fraction = buf.readUInt32BE(offset + 4);
  return (seconds - NTP_UNIX_OFFSET) * 1000 + (fraction / 2 ** 32) * 1000;
}

/** LI 0, version 4, mode 3 (client); the transmit timestamp doubles as our nonce. */
export function buildRequest(nowMs: number): Buffer {
  const b = Buffer.alloc(48);
  b[0] = (0 << 6) | (4 << 3) | 3;
  writeNtpTime(b, 40, nowMs);
  return b;
}

export interface NtpSample {
  /** Server clock minus ours, ms: positive means we are behind. */
  offsetMs: number;
  /** Round trip minus the server's processing time, ms. */
  delayMs: number;
  stratum: number;
  /** Reference id: a source like "GPS" for stratum 1, the upstream server's address otherwise. */
  refId: string;
  leap: number;
}

export class SntpError extends Error {
  override name = 'SntpError';
}

/**
 * Checks a reply against our request (sent at t1, received at t4) and computes the sample.
 * Throws SntpError for anything a careful client must reject.
 */
export function parseReply(reply: Buffer, request: Buffer, t1: number, t4: number): NtpSample {
  if (reply.length < 48) throw new SntpError(`reply of ${reply.length} bytes, expected at least 48`);
  const leap = reply[0]! >> 6;
  const version = (reply[0]! >> 3) & 7;
  const mode = reply[0]! & 7;
  const stratum = reply[1]!;
  if (mode !== 4) throw new SntpError(`reply mode ${mode}, expected 4 (server)`);
  if (version < 3 || version > 4) throw new SntpError(`NTP version ${version}`);
  const refIdBytes = reply.subarray(12, 16);
  if (stratum === 0)
    throw new SntpError(
      `kiss-o'-death "${refIdBytes.toString('ascii').replace(/\0/g, '')}": the server asks us to stop or slow down`,
    );
  if (stratum > 15) throw new SntpError(`stratum ${stratum}: the server is not synchronised`);
  if (leap === 3) throw new SntpError('leap indicator 3: the server clock is not synchronised');
  // The server must echo our transmit time: anything else is a stale or spoofed reply.
  if (!reply.subarray(24, 32).equals(request.subarray(40, 48)))
    throw new SntpError('originate timestamp does not match our request');
  const t2 = readNtpTime(reply, 32);
  const t3 = readNtpTime(reply, 40);
  if (readNtpTime(reply, 40) <= -NTP_UNIX_OFFSET * 1000) throw new SntpError('empty transmit timestamp');
  const refId = stratum === 1 ? refIdBytes.toString('ascii').replace(/\0/g, '') : [...refIdBytes].join('.');
  return {
    offsetMs: (t2 - t1 + (t3 - t4)) / 2,
    delayMs: t4 - t1 - (t3 - t2),
    stratum,
    refId,
    leap,
  };
}
