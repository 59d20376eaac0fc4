import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSystem } from '../../src/audit/describeSystem.js';
import { parseCpuinfo, parseMeminfo, parseOsRelease, parseStatComm } from '../../src/audit/procParsers.js';
import { gatherSystemFacts } from '../../src/host/systemFacts.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const tree = (name: string) => ({
  proc: join(FIXTURES, 'hosts', name, 'proc'),
  sys: join(FIXTURES, 'hosts', name, 'sys'),
  root: join(FIXTURES, 'hosts', name, 'root'),
});
const detect = async (paths: { proc: string; sys: string; root: string }) =>
  describeSystem(await gatherSystemFacts(paths), new Date('2026-11-23T12:00:00Z'));

describe('detect_system on fixture hosts', () => {
  it('recognises a Debian VM with nginx, MariaDB, Redis and nftables', async () => {
    const d = await detect(tree('debian'));
    expect(d.hostname).toBe('web01');
    expect(d.os).toEqual({
      id: 'debian',
      name: 'Debian GNU/Linux',
      version: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      idLike: [],
    });
    expect(d.kernel).toBe('6.1.0-26-amd64');
    expect(d.cpu).toEqual({ cores: 4, model: 'Intel Xeon Processor (Cascadelake)' });
    expect(d.memoryTotalBytes).toBe(8041556 * 1024);
    expect(d.uptimeSeconds).toBe(350735);
    expect(d.bootTime).toBe(new Date(Date.parse('2026-11-23T12:00:00Z') - 350735470).toISOString());
    expect(d.virtualization).toMatchObject({ kind: 'vm', technology: 'qemu' });
    expect(d.webServers.map((c) => [c.name, c.running])).toEqual([['nginx', true]]);
    // Debian's MariaDB also ships /usr/sbin/mysqld and /etc/mysql/my.cnf: one database, not two.
    expect(d.databases.map((c) => [c.name, c.installed, c.running])).toEqual([
      ['mariadb', true, true],
      ['redis', true, true],
    ]);
    expect(d.databases[0]?.evidence).toContain('file /usr/sbin/mysqld');
    expect(d.controlPanel).toEqual({ name: 'none', evidence: [] });
    expect(d.firewalls.map((c) => [c.name, c.running])).toEqual([['nftables', true]]);
    expect(d.unreadable).toEqual([]);
  });

  it('recognises an AlmaLinux cPanel host with Apache, old-named MariaDB and CSF', async () => {
    const d = await detect(tree('alma-cpanel'));
    expect(d.os?.id).toBe('almalinux');
    expect(d.os?.idLike).toEqual(['rhel', 'centos', 'fedora']);
    expect(d.os?.version).toBe('8.10');
    expect(d.virtualization).toMatchObject({ kind: 'vm', technology: 'vmware' });
    expect(d.webServers.map((c) => c.name)).toEqual(['apache']);
    expect(d.databases).toHaveLength(1);
    expect(d.databases[0]).toMatchObject({ name: 'mariadb', running: true, installed: true });
    expect(d.databases[0]?.evidence).toContain('process mysqld');
    expect(d.controlPanel.name).toBe('cpanel');
    expect(d.controlPanel.evidence).toEqual(['process cpsrvd (SSL) -', 'file /usr/local/cpanel/version']);
    expect(d.firewalls.map((c) => [c.name, c.running])).toEqual([
      ['iptables', true],
      ['csf', true],
    ]);
  });

  it('recognises a container and falls back to /usr/lib/os-release', async () => {
    const d = await detect(tree('container'));
    expect(d.virtualization).toEqual({
      kind: 'container',
      technology: 'docker',
      evidence: ['/.dockerenv present'],
    });
    expect(d.os?.prettyName).toBe('Alpine Linux v3.20');
    expect(d.webServers).toEqual([]);
    expect(d.databases).toEqual([]);
    expect(d.firewalls).toEqual([]);
  });

  it("reads node_exporter's real host fixture and says what it could not read", async () => {
    const base = join(FIXTURES, 'node_exporter');
    const d = await detect({
      proc: join(base, 'proc'),
      sys: join(base, 'sys'),
      root: join(FIXTURES, 'hosts', 'none'),
    });
    expect(d.cpu).toEqual({ cores: 8, model: 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz' });
    expect(d.memoryTotalBytes).toBe(3742148 * 1024);
    expect(d.virtualization).toEqual({
      kind: 'bare-metal',
      technology: null,
      evidence: ['DMI: Dell Inc. PowerEdge R6515'],
    });
    expect(d.os).toBeNull();
    expect(d.hostname).toBeNull();
    expect(d.unreadable).toEqual(
      expect.arrayContaining([
        join(FIXTURES, 'hosts', 'none', 'usr/lib/os-release'),
        join(base, 'proc', 'sys/kernel/osrelease'),
        join(base, 'proc', 'uptime'),
      ]),
    );
  });

  it('degrades to nulls, never throws, when every root is missing', async () => {
    const d = await detect({ proc: '/nonexistent/proc', sys: '/nonexistent/sys', root: '/nonexistent' });
    expect(d.cpu).toEqual({ cores: null, model: null });
    expect(d.virtualization.kind).toBe('unknown');
    expect(d.unreadable.length).toBeGreaterThanOrEqual(5);
  });
});

describe('proc parsers', () => {
  it('takes the command name between the first ( and the last )', () => {
    expect(parseStatComm('1234 (my (odd) name) S 1 1234')).toBe('my (odd) name');
    expect(parseStatComm('garbage')).toBeUndefined();
  });

  it('parses meminfo units and cpuinfo on arm without model name', () => {
    expect(parseMeminfo('MemTotal: 100 kB\nHugePages_Total: 0\n')).toEqual({
      MemTotal: 102400,
      HugePages_Total: 0,
    });
    expect(parseCpuinfo('processor\t: 0\nFeatures\t: fp asimd\n\nprocessor\t: 1\n')).toEqual({
      logicalCores: 2,
      model: null,
      hypervisorFlag: false,
    });
  });

  it('unquotes os-release values with escapes and ignores comments', () => {
    expect(parseOsRelease('# c\nNAME="A \\"B\\""\nID=\'x\'\nbroken line\n')).toMatchObject({
      name: 'A "B"',
      id: 'x',
    });
  });
});
