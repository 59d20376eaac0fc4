import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRequest, parseReply, writeNtpTime } from '../../src/audit/clock/sntp.js';
import type { RunningHttp } from '../../src/runtime.js';
import { connectClient, startInProcess } from '../helpers/servers.js';
import { type SntpStub, startSntpStub } from '../helpers/sntpStub.js';

type Out = {
  servers: Array<{
    server: string;
    reachable: boolean;
    offsetMs: number | null;
    delayMs: number | null;
    stratum: number | null;
    samples: number;
    error: string | null;
  }>;
  medianOffsetMs: number | null;
  maxSkewMs: number | null;
  localSync: { synchronized: boolean | null; notes: string[] };
  findings: Array<{ id: string; severity: string }>;
  status: string;
};

const root = mkdtempSync(join(tmpdir(), 'clock-it-'));
let good: SntpStub;
let behind: SntpStub;
let far: SntpStub;
let server: RunningHttp;
let client: Client;

beforeAll(async () => {
  good = await startSntpStub(0);
  behind = await startSntpStub(250);
  far = await startSntpStub(-3000);
  // HOST_ROOT elsewhere: the local chronyc/timedatectl check is skipped, not run against this machine.
  server = await startInProcess({
    HOST_ROOT: root,
    NTP_SERVERS: good.server,
    // Stubs on loopback answer at once: the bound only has to outlast a busy machine (the silent
    // stub costs it once per case).
    OUTBOUND_TIMEOUT_MS: '3000',
    RETRY_COUNT: '0',
  });
  client = await connectClient(server.url);
});
afterAll(async () => {
  await client?.close();
  await server?.shutdown('test done');
  for (const s of [good, behind, far]) await s?.close();
  rmSync(root, { recursive: true, force: true });
});

async function clock(args: Record<string, unknown> = {}): Promise<Out> {
  const res = await client.callTool({ name: 'check_clock', arguments: args });
  expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
  return res.structuredContent as Out;
}
const ids = (o: Out) => o.findings.map((f) => `${f.severity} ${f.id}`);

describe('check_clock against local SNTP servers', () => {
  it('measures a correct server (NTP_SERVERS by default): offset near 0, stratum, every sample', async () => {
    const o = await clock();
    expect(o.servers[0]).toMatchObject({
      server: good.server,
      reachable: true,
      stratum: 2,
      samples: 4,
      error: null,
    });
    // NTP bounds the error of an offset by half the round trip (any asymmetry fits in it): a
    // loaded machine lengthens the round trip, and this bound with it.
    const s0 = o.servers[0];
    expect(Math.abs(s0?.offsetMs ?? 99)).toBeLessThanOrEqual((s0?.delayMs ?? 0) / 2 + 2);
    expect(ids(o)).toEqual([]);
    expect(o.localSync.notes[0]).toMatch(/^clock: skipped/);
  });

  it('grades a 250 ms offset medium and a 3 s offset high, and sees servers disagree', async () => {
    const m = await clock({ servers: [behind.server], samples: 2 });
    expect(Math.abs((m.medianOffsetMs ?? 0) - 250)).toBeLessThanOrEqual((m.servers[0]?.delayMs ?? 0) / 2 + 2);
    expect(ids(m)).toEqual(['medium clock.offset']);
    const h = await clock({ servers: [far.server], samples: 2 });
    expect(ids(h)).toEqual(['high clock.offset']);
    const both = await clock({ servers: [good.server, far.server], samples: 1 });
    expect(both.maxSkewMs).toBeGreaterThan(2900);
    expect(ids(both)).toContain('low clock.servers_disagree');
  });

  it.each([
    ['silent', 'no reply in time'],
    ['malformed', 'reply of 7 bytes, expected at least 48'],
    ['kiss', 'kiss-o\'-death "RATE"'],
    ['spoof', 'originate timestamp does not match our request'],
    ['unsynchronised', 'leap indicator 3'],
  ] as const)('rejects a %s server: %s', async (mode, error) => {
    const bad = await startSntpStub(0);
    bad.mode = mode;
    try {
      const o = await clock({ servers: [bad.server, good.server], samples: 1 });
      expect(o.servers[0]).toMatchObject({ reachable: false });
      expect(o.servers[0]?.error).toContain(error);
      expect(ids(o)).toEqual([`low clock.unreachable:${bad.server}`]);
      const alone = await clock({ servers: [bad.server], samples: 1 });
      expect(ids(alone)).toEqual(['high clock.no_ntp_reply']);
    } finally {
      await bad.close();
    }
  });

  it('refuses a server port outside 1-65535 as a bad argument', async () => {
    const res = await client.callTool({ name: 'check_clock', arguments: { servers: ['127.0.0.1:0'] } });
    expect(res.isError).toBe(true);
    expect((res.content as Array<{ text: string }>)[0]?.text).toContain('the port must be 1-65535');
  });

  it('refuses servers at forbidden addresses', async () => {
    const o = await clock({ servers: ['169.254.169.254'], samples: 1 });
    expect(o.servers[0]?.error).toContain('never a target');
  });
});

describe('SNTP arithmetic (pure)', () => {
  it('computes offset and delay from the four timestamps', () => {
    const t1 = 1_700_000_000_000;
    const req = buildRequest(t1);
    const reply = Buffer.alloc(48);
    reply[0] = (4 << 3) | 4;
    reply[1] = 1;
    reply.write('GPS', 12, 'ascii');
    req.copy(reply, 24, 40, 48);
    // Server is 500 ms ahead; 10 ms each way; 2 ms processing.
    writeNtpTime(reply, 32, t1 + 10 + 500);
    writeNtpTime(reply, 40, t1 + 12 + 500);
    const s = parseReply(reply, req, t1, t1 + 22);
    expect(s.offsetMs).toBeCloseTo(500, 0);
    expect(s.delayMs).toBeCloseTo(20, 0);
    expect(s.refId).toBe('GPS');
  });
});
