import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckEnv } from '../../src/audit/health/checkEnv.js';
import { parseMdstat, parseSmartScan, smartKey } from '../../src/audit/health/hardwareAnalysis.js';
import { DEFAULT_THRESHOLDS } from '../../src/audit/health/thresholds.js';
import { metricDirection } from '../../src/audit/compareBaselines.js';
import { checkHardware } from '../../src/health/hardware.js';
import { checkNetwork } from '../../src/health/network.js';
import { runCommand } from '../../src/host/runCommand.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const FAKE_SMARTCTL = join(FIXTURES, 'smartctl', 'fake-smartctl.mjs');

/** Runs the real fake-smartctl program (execFile, fixed argv) in smartctl's place; other commands are absent. */
function smartctlAs(scenario: 'mixed' | 'healthy' | 'hostile' | 'absent'): CheckEnv['run'] {
  const seen: string[][] = [];
  const run: CheckEnv['run'] = (file, args, opts) => {
    if (file !== 'smartctl' || scenario === 'absent') return runCommand(`/nonexistent/${file}`, args, opts);
    seen.push([...args]);
    return runCommand(process.execPath, [FAKE_SMARTCTL, scenario, ...args], opts);
  };
  return Object.assign(run, { seen });
}

function env(tree: string, run: CheckEnv['run'] = smartctlAs('absent')): CheckEnv {
  const base = tree === 'node_exporter' ? join(FIXTURES, 'node_exporter') : join(FIXTURES, 'health', tree);
  return {
    paths: { proc: join(base, 'proc'), sys: join(base, 'sys'), root: join(base, 'root') },
    thresholds: DEFAULT_THRESHOLDS,
    run,
    signal: new AbortController().signal,
    now: new Date('2026-11-23T12:00:00Z'),
    allowedLogRoots: ['/var/log'],
  };
}

const ids = (r: { findings: { id: string; severity: string }[] }) =>
  r.findings.map((f) => `${f.severity} ${f.id}`);

describe('hardware', () => {
  it('is quiet on the healthy host and measures RAID, ECC, machine checks, temperatures and SMART', async () => {
    const r = await checkHardware(env('healthy', smartctlAs('healthy')));
    expect(ids(r)).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(r.metrics).toMatchObject({
      'raid.arrays': 1,
      'raid.md0.degraded': 0,
      'raid.md0.devices_in_sync': 2,
      'edac.mc0.ce_count': 0,
      'edac.mc0.ue_count': 0,
      'hardware.mce': 0,
      'temp.coretemp.0.temp1_celsius': 46,
      'temp.max_celsius': 46,
      'smart.devices': 1,
      'smart.sda.passed': 1,
      'smart.sda.reallocated_sectors': 0,
      'smart.sda.temperature_celsius': 31,
    });
  });

  it('grades the stressed host: degraded RAID, corrected ECC, machine checks, hot sensors', async () => {
    const r = await checkHardware(env('stressed', smartctlAs('healthy')));
    expect(ids(r).sort()).toEqual(
      [
        'critical raid.degraded:md0',
        'critical raid.degraded:md1',
        'medium edac.corrected:mc0',
        'high hardware.machine_checks',
        'critical hardware.temperature:coretemp.0.temp1',
        'high hardware.temperature:coretemp.0.temp2',
        // 71 °C is below the 80 °C default, but this sensor's own crit limit is 70 °C.
        'critical hardware.temperature:thermal_zone0.temp1',
      ].sort(),
    );
    const md1 = r.findings.find((f) => f.id === 'raid.degraded:md1');
    expect(md1?.title).toBe('RAID md1 is degraded: 1 of 2 devices missing (rebuilding, 23.4%)');
    expect(r.findings.find((f) => f.id === 'raid.degraded:md0')?.evidence).toContain('failed: sdb1');
    expect(r.metrics['hardware.mce']).toBe(3);
    expect(r.metrics['raid.degraded_arrays']).toBe(2);
  });

  it("reads node_exporter's real host: inactive and degraded arrays, failed members, uncorrected ECC", async () => {
    const r = await checkHardware(env('node_exporter'));
    expect(ids(r)).toEqual(
      expect.arrayContaining([
        'critical raid.inactive:md4',
        'critical raid.degraded:md6',
        'critical raid.degraded:md7',
        'high raid.failed_device:md9',
        'high raid.failed_device:md11',
        // An IMSM container is listed inactive by design.
        'info raid.inactive:md219',
        'critical edac.uncorrected:mc0',
        'info smart.unavailable',
      ]),
    );
    expect(ids(r).filter((i) => i.includes('md3') || i.includes('md127') || i.includes('md0'))).toEqual([]);
    expect(r.metrics['edac.mc0.ue_count']).toBe(5);
    expect(r.metrics['temp.coretemp.0.temp1_celsius']).toBe(55);
    expect(r.metrics['temp.coretemp.1.temp1_celsius']).toBe(55);
  });

  it('judges real smartctl captures: a FAILING NVMe drive and a SATA disk with a reallocated sector', async () => {
    const run = smartctlAs('mixed');
    const r = await checkHardware(env('healthy', run));
    expect(ids(r).sort()).toEqual(
      [
        'critical smart.failing:nvme0',
        'critical smart.nvme_critical_warning:nvme0',
        'medium smart.reallocated_sectors:sdc',
      ].sort(),
    );
    expect(r.metrics).toMatchObject({
      'smart.devices': 4,
      'smart.nvme0.passed': 0,
      'smart.nvme1.passed': 1,
      'smart.sdc.reallocated_sectors': 1,
    });
    const failing = r.findings.find((f) => f.id === 'smart.failing:nvme0');
    expect(failing?.evidence).toContain('SAMSUNG MZWLL3T2HAJQ-00005');
    // Each device is queried with a fixed argv built from the scan's validated name and type.
    expect((run as unknown as { seen: string[][] }).seen).toContainEqual([
      '--json',
      '-H',
      '-A',
      '-i',
      '-d',
      'nvme',
      '/dev/nvme0',
    ]);
  });

  it('never passes a device name that smartctl would not print to a command', async () => {
    const run = smartctlAs('hostile');
    const r = await checkHardware(env('healthy', run));
    expect(r.metrics['smart.devices']).toBe(0);
    expect((run as unknown as { seen: string[][] }).seen).toEqual([['--scan-open', '--json']]);
  });

  it('says how to install smartctl when it is missing, and still reports the rest', async () => {
    const r = await checkHardware(env('healthy', smartctlAs('absent')));
    expect(r.findings).toEqual([
      expect.objectContaining({
        id: 'smart.unavailable',
        severity: 'info',
        title: 'smartctl not found: install smartmontools',
      }),
    ]);
    expect(r.notes).toEqual(['smart: smartctl not found: install smartmontools']);
    expect(r.metrics['raid.arrays']).toBe(1);
  });

  it('degrades to nothing, not a failure, on a tree without hardware files', async () => {
    const r = await checkHardware(env('unreadable'));
    expect(ids(r)).toEqual(['info smart.unavailable']);
  });
});

describe('hardware parsers (pure)', () => {
  it('parses mdstat sync progress and spares', () => {
    const [a] = parseMdstat(
      'md5 : active raid5 sdd1[3] sdc1[2](S) sdb1[1] sda1[0]\n      100 blocks level 5 [3/3] [UUU]\n      [=>...]  check = 5.7% (1/2)\n',
    );
    expect(a).toMatchObject({
      name: 'md5',
      level: 'raid5',
      wanted: 3,
      inSync: 3,
      spares: 1,
      sync: { action: 'check', percent: 5.7 },
    });
  });

  it('keys SMART devices behind a RAID controller apart', () => {
    expect(smartKey({ name: '/dev/bus/0', type: 'megaraid,3' })).toBe('bus_0_megaraid_3');
    expect(parseSmartScan('not json')).toBeUndefined();
  });
});

describe('network', () => {
  it('measures the healthy host: no findings, MTU, retransmits, socket states from tcp and tcp6', async () => {
    const r = await checkNetwork(env('healthy'));
    expect(ids(r)).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(r.metrics).toMatchObject({
      'net.eth0.mtu': 1500,
      'net.eth0.rx_drops': 12,
      'tcp.retrans_percent': 0.05,
      'tcp.listen': 5,
      'tcp.established': 2,
      'tcp.time_wait': 1,
    });
    expect(r.metrics['net.lo.rx_errors']).toBeUndefined();
  });

  it('grades the stressed host: a lossy link, a small MTU, retransmits, TIME_WAIT pressure', async () => {
    const e = env('stressed');
    const r = await checkNetwork({
      ...e,
      thresholds: { ...e.thresholds, timeWaitSockets: { high: 100, critical: 1000 } },
    });
    expect(ids(r).sort()).toEqual(
      [
        'critical net.errors:eth0',
        'low net.mtu:ens4',
        'critical tcp.retransmits',
        'high tcp.time_wait',
      ].sort(),
    );
    expect(r.metrics['net.eth0.error_percent']).toBe(1.25);
    expect(r.metrics['tcp.retrans_percent']).toBe(6.2);
    expect(r.metrics['tcp.time_wait']).toBe(120);
    // A WireGuard tunnel's 1420 is by design.
    expect(r.metrics['net.wg0.mtu']).toBe(1420);
  });

  it("reads node_exporter's snmp counters, and notes what it cannot read", async () => {
    const r = await checkNetwork(env('node_exporter'));
    expect(r.metrics).toMatchObject({ 'tcp.out_segments': 54915039, 'tcp.retrans_segments': 227 });
    expect(r.notes).toContain('net: cannot read /proc/net/dev');
  });

  it('degrades with notes on an unreadable tree', async () => {
    const r = await checkNetwork(env('unreadable'));
    expect(r.findings).toEqual([]);
    expect(r.notes).toHaveLength(3);
  });
});

describe('hardware and network metrics read the right way in compare_baselines', () => {
  it.each([
    ['edac.mc0.ue_count', 'lower'],
    ['edac.mc0.ce_count', 'lower'],
    ['hardware.mce', 'lower'],
    ['smart.sda.reallocated_sectors', 'lower'],
    ['smart.sda.pending_sectors', 'lower'],
    ['smart.nvme0.endurance_used_percent', 'lower'],
    ['smart.nvme0.media_errors', 'lower'],
    ['smart.nvme0.passed', 'higher'],
    ['smart.nvme0.available_spare', 'higher'],
    ['raid.md0.degraded', 'lower'],
    ['raid.md0.failed_devices', 'lower'],
    ['temp.coretemp.0.temp1_celsius', 'lower'],
    ['net.eth0.rx_drops', 'lower'],
    ['net.eth0.error_percent', 'lower'],
    ['tcp.retrans_percent', 'lower'],
    ['tcp.time_wait', 'lower'],
  ])('%s: %s is better', (name, direction) => {
    expect(metricDirection(name)).toBe(direction);
  });
});
