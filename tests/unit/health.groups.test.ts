import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckEnv } from '../../src/audit/health/checkEnv.js';
import { analyzeDisks, parseMountinfo } from '../../src/audit/health/resourcesAnalysis.js';
import { DEFAULT_THRESHOLDS } from '../../src/audit/health/thresholds.js';
import { checkClock } from '../../src/health/clock.js';
import { checkResources } from '../../src/health/resources.js';
import { checkSecurity } from '../../src/health/security.js';
import { checkServices } from '../../src/health/services.js';
import { type CommandResult, runCommand } from '../../src/host/runCommand.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

function env(tree: string, overrides: Partial<CheckEnv> = {}): CheckEnv {
  const base = tree === 'node_exporter' ? join(FIXTURES, 'node_exporter') : join(FIXTURES, 'health', tree);
  return {
    paths: { proc: join(base, 'proc'), sys: join(base, 'sys'), root: join(base, 'root') },
    thresholds: DEFAULT_THRESHOLDS,
    run: runCommand,
    signal: new AbortController().signal,
    now: new Date('2026-11-23T12:00:00Z'),
    allowedLogRoots: ['/var/log'],
    ...overrides,
  };
}

const ids = (r: { findings: { id: string; severity: string }[] }) =>
  r.findings.map((f) => `${f.severity} ${f.id}`);

describe('resources', () => {
  it('finds nothing wrong on the healthy host and measures everything', async () => {
    const r = await checkResources(env('healthy'), { cpuSampleMs: 0 });
    expect(ids(r)).toEqual([]);
    expect(r.metrics).toMatchObject({
      'memory.used_percent': 34.91,
      'swap.used_percent': 0,
      'load.5': 0.35,
      'load.per_core.5': 0.09,
      'cpu.cores': 4,
      'pressure.cpu.some_avg60': 0.8,
      'pressure.io.full_avg60': 0.1,
      'processes.zombies': 0,
      'processes.total': 2,
      'vmstat.oom_kills': 0,
      'uptime.seconds': 864000,
      'files.allocated': 2144,
    });
    // Since-boot averages from the one /proc/stat sample: iowait 1030 of 1640355 jiffies.
    expect(r.metrics['cpu.iowait_percent']).toBe(0.06);
    expect(r.metrics['cpu.steal_percent']).toBe(0);
    // The fixture root is a real directory, so "/" is measured with statfs on this machine's disk.
    expect(r.metrics['disk./.used_percent']).toBeGreaterThan(0);
    expect(
      Object.keys(r.metrics).filter((k) => k.startsWith('disk.') && k.endsWith('.used_percent')),
    ).toEqual(['disk./.used_percent']);
  });

  it('grades the stressed host: zombies, memory, swap, load, OOM kills, recent reboot, no PSI', async () => {
    const r = await checkResources(env('stressed'), { cpuSampleMs: 0 });
    expect(ids(r)).toEqual(
      expect.arrayContaining([
        'critical processes.zombies',
        'critical memory.used_percent',
        'critical swap.used_percent',
        'critical load.per_core',
        'high memory.oom_kills',
        'low uptime.recent_reboot',
      ]),
    );
    expect(r.metrics['processes.zombies']).toBe(250);
    expect(r.metrics['memory.used_percent']).toBe(98);
    expect(r.notes).toContain(
      'pressure: /proc/pressure absent (kernel < 4.20 or PSI disabled): stall data unavailable',
    );
  });

  it("reads node_exporter's real host: PSI, OOM counter, file handles, mounts", async () => {
    const r = await checkResources(env('node_exporter'), { cpuSampleMs: 0 });
    expect(r.metrics).toMatchObject({
      'pressure.io.some_avg60': 0.34,
      'pressure.io.full_avg60': 0.34,
      'vmstat.oom_kills': 0,
      'files.allocated': 1024,
      'files.max': 1631329,
      'load.1': 0.21,
      'cpu.cores': 8,
    });
    // Its mount points do not exist under the (absent) fixture root: degraded, not failed.
    expect(r.notes.some((n) => n.startsWith('disks: cannot statfs'))).toBe(true);
  });

  it('samples /proc/stat twice when asked, and says so when no time passed', async () => {
    const r = await checkResources(env('healthy'), { cpuSampleMs: 20 });
    expect(r.notes).toContain('cpu: no CPU time elapsed between the two /proc/stat samples');
    expect(r.metrics['cpu.iowait_percent']).toBeUndefined();
  });

  it('degrades every sub-check with a note on an unreadable tree', async () => {
    const r = await checkResources(env('unreadable'), { cpuSampleMs: 0 });
    expect(r.findings).toEqual([]);
    expect(r.notes.length).toBeGreaterThanOrEqual(6);
    expect(r.notes).toContain(`memory: cannot read ${join(FIXTURES, 'health/unreadable/proc/meminfo')}`);
    expect(r.notes).toContain('load: /proc/loadavg or the CPU count is unreadable');
  });
});

describe('disks (pure)', () => {
  const full = {
    mountPoint: '/var',
    fsType: 'ext4',
    source: '/dev/vda2',
    sizeBytes: 100 * 2 ** 30,
    freeBytes: 3 * 2 ** 30,
    availBytes: 0,
    inodes: 6_553_600,
    inodesFree: 6_000_000,
  };

  it('calls a disk with no space left for users critical, like df (reserved blocks count as used)', () => {
    const r = analyzeDisks([full], DEFAULT_THRESHOLDS);
    expect(ids(r)).toEqual(['critical disk.used_percent:/var']);
    expect(r.metrics['disk./var.used_percent']).toBe(100);
    expect(r.metrics['disk./var.inodes_used_percent']).toBe(8.45);
    expect(r.findings[0]?.recommendation).toContain('du -xh --max-depth=2 /var');
  });

  it('grades inodes on their own', () => {
    const r = analyzeDisks([{ ...full, availBytes: 60 * 2 ** 30, inodesFree: 100_000 }], DEFAULT_THRESHOLDS);
    expect(ids(r)).toEqual(['critical disk.inodes_used_percent:/var']);
  });

  it('keeps real mounts from mountinfo: pseudo file systems, tmpfs and bind duplicates skipped', () => {
    const mounts = parseMountinfo(
      [
        '29 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
        '30 29 253:2 / /srv/my\\040data rw - xfs /dev/vdb rw',
        '31 29 253:2 / /mnt/again rw - xfs /dev/vdb rw',
        '24 29 0:22 / /sys rw - sysfs sysfs rw',
        '28 29 0:25 / /run rw - tmpfs tmpfs rw',
        '40 29 7:0 / /snap/core/1 ro - squashfs /dev/loop0 ro',
      ].join('\n'),
    );
    expect(mounts).toEqual([
      { mountPoint: '/', fsType: 'ext4', source: '/dev/vda1' },
      { mountPoint: '/srv/my data', fsType: 'xfs', source: '/dev/vdb' },
    ]);
  });
});

describe('services', () => {
  it('reports a database that is installed but not running', async () => {
    const e = env('healthy');
    const r = await checkServices({
      ...e,
      paths: {
        proc: e.paths.proc,
        sys: e.paths.sys,
        root: join(FIXTURES, 'hosts', 'alma-cpanel', 'root'),
      },
    });
    // The alma-cpanel root has Apache and MariaDB files; this process table runs only nginx.
    expect(ids(r)).toEqual(expect.arrayContaining(['high service.down:apache', 'high service.down:mariadb']));
    // nginx runs (its process is in this table) though its files are not under that root.
    expect(r.metrics['service.nginx.running']).toBe(1);
    expect(r.notes).toContain(
      'systemd: skipped: systemctl only queries the local system, and HOST_ROOT is not /',
    );
  });

  it('finds nginx running on the healthy host', async () => {
    const r = await checkServices(env('healthy'));
    expect(r.findings).toEqual([]);
    expect(r.metrics['service.nginx.running']).toBe(1);
  });
});

describe('security', () => {
  it('counts failed SSH logins per address, finds no firewall, decodes taint, sees the pending reboot', async () => {
    const r = await checkSecurity(env('stressed'));
    expect(ids(r)).toEqual(
      expect.arrayContaining([
        'high ssh.failed_logins',
        'high firewall.inactive',
        'info kernel.tainted',
        'medium reboot.required',
      ]),
    );
    expect(r.metrics['ssh.failed_logins']).toBe(151);
    expect(r.metrics['ssh.failed_login_ips']).toBe(4);
    const ssh = r.findings.find((f) => f.id === 'ssh.failed_logins');
    expect(ssh?.evidence).toBe(
      'top: 127.0.0.2 (50), 127.0.0.3 (50), 127.0.0.4 (50), 127.0.0.9 (1); from /var/log/auth.log',
    );
    expect(r.findings.find((f) => f.id === 'reboot.required')?.evidence).toBe(
      'packages: linux-image-6.1.0-27-amd64, libc6',
    );
  });

  it('is quiet on the healthy host', async () => {
    const r = await checkSecurity(env('healthy'));
    expect(r.findings).toEqual([]);
    expect(r.metrics['ssh.failed_logins']).toBe(0);
    expect(r.metrics['firewall.active']).toBe(1);
  });

  it('does not read an auth log outside AUDIT_ALLOWED_PATHS', async () => {
    const r = await checkSecurity(env('stressed', { allowedLogRoots: ['/srv/logs'] }));
    expect(r.metrics['ssh.failed_logins']).toBeUndefined();
    expect(r.notes).toContain(
      'ssh: /var/log/auth.log is outside the allowed paths (/srv/logs); set AUDIT_ALLOWED_PATHS to allow it',
    );
  });
});

describe('clock', () => {
  const answer = (stdout: string): CommandResult => ({
    found: true,
    exitCode: 0,
    stdout,
    stderr: '',
    timedOut: false,
  });
  const liveRoot = (run: CheckEnv['run']) =>
    env('healthy', { paths: { proc: '/proc', sys: '/sys', root: '/' }, run });

  it('skips the commands when auditing a mounted host root', async () => {
    const r = await checkClock(env('healthy'));
    expect(r.notes[0]).toMatch(/^clock: skipped/);
  });

  it('tells how to get clock data when neither chronyc nor timedatectl exists', async () => {
    const r = await checkClock(
      liveRoot((file, args, opts) => runCommand(`/nonexistent/${file}`, args, opts)),
    );
    expect(r.notes[0]).toMatch(/install chrony/);
  });

  it("reads chrony's offset and grades it", async () => {
    const csv =
      'A9FEA97B,169.254.169.123,4,1732363200.123456789,-0.250000000,-0.000001,0.000010,-12.3,0.01,0.05,0.0001,0.0002,64.0,Normal';
    const r = await checkClock(liveRoot(async () => answer(csv)));
    expect(r.metrics).toEqual({ 'clock.synchronized': 1, 'clock.offset_ms': -250 });
    expect(ids(r)).toEqual(['high clock.offset']);
  });
});
