import { describe, expect, it } from 'vitest';
import { accountNames, parseGroup, parsePasswd } from '../../src/audit/permissions/accounts.js';
import {
  headHasPrivateKey,
  isConfigFile,
  isSystemBinaryPath,
  secretByName,
  shouldSniff,
} from '../../src/audit/permissions/classify.js';
import { chmodArg, octalMode, symbolicMode } from '../../src/audit/permissions/mode.js';
import { type EntryFacts, judgeEntry, withContent } from '../../src/audit/permissions/rules.js';
import { shellQuote } from '../../src/audit/permissions/shell.js';

const names = accountNames(
  'root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n+nis::::::\nbad:x:notanumber:1::/:/bin/sh\n',
  'root:x:0:\nalice:x:1000:\nwww-data:x:33:\n',
);

function file(over: Partial<EntryFacts> & { hostPath: string }): EntryFacts {
  const name = over.hostPath.split('/').pop() ?? '';
  const parentName = over.hostPath.split('/').at(-2) ?? '';
  return {
    name,
    kind: 'file',
    mode: 0o100644,
    uid: 1000,
    gid: 1000,
    parent: { uid: 1000, gid: 1000 },
    secret: secretByName(name, parentName),
    ...over,
  };
}

const ids = (f: EntryFacts) => judgeEntry(f, names).map((x) => [x.category, x.severity, x.fix]);

describe('modes', () => {
  it('renders octal, chmod arguments and ls-style text', () => {
    expect(octalMode(0o100644)).toBe('0644');
    expect(octalMode(0o41777)).toBe('1777');
    expect(chmodArg(0o600)).toBe('600');
    expect(chmodArg(0o1777)).toBe('1777');
    expect(chmodArg(0o4755)).toBe('4755');
    expect(symbolicMode(0o4755, 'file')).toBe('-rwsr-xr-x');
    expect(symbolicMode(0o1777, 'directory')).toBe('drwxrwxrwt');
    expect(symbolicMode(0o2644, 'file')).toBe('-rw-r-Sr--');
  });

  it('quotes paths for a shell, embedded quotes included', () => {
    expect(shellQuote('/srv/app/.env')).toBe(`'/srv/app/.env'`);
    expect(shellQuote(`/srv/it's $(rm -rf /)`)).toBe(`'/srv/it'\\''s $(rm -rf /)'`);
  });
});

describe('passwd and group parsing', () => {
  it('reads names, skips comments, NIS lines and malformed entries', () => {
    expect(parsePasswd('root:x:0:0::/root:/bin/sh\n+::::::\n#x:x:1:1\nbad:x:-1:0\n')).toEqual([
      { name: 'root', uid: 0, gid: 0 },
    ]);
    expect(parseGroup('root:x:0:\nshadow:x:42:\nbroken\n')).toEqual([
      { name: 'root', gid: 0 },
      { name: 'shadow', gid: 42 },
    ]);
    expect(names.user(1000)).toBe('alice');
    expect(names.group(33)).toBe('www-data');
    expect(names.user(4321)).toBeUndefined();
  });

  it('refuses names that could smuggle shell syntax into a chown', () => {
    expect(parsePasswd('$(reboot):x:5:5::/:/bin/sh\nok-name:x:6:6::/:/bin/sh\n').map((e) => e.name)).toEqual([
      'ok-name',
    ]);
  });

  it('keeps the first entry for an id, like getpwuid', () => {
    const n = accountNames('first:x:7:7::/:/bin/sh\nsecond:x:7:7::/:/bin/sh\n', undefined);
    expect(n.user(7)).toBe('first');
    expect(n.group(7)).toBeUndefined();
  });
});

describe('classification', () => {
  it.each([
    ['id_rsa', '.ssh', 'private_key'],
    ['id_ed25519', '.ssh', 'private_key'],
    ['ssh_host_ecdsa_key', 'ssh', 'private_key'],
    ['server.key', 'private', 'private_key'],
    ['signing.key', 'keys', 'private_key'],
    ['bundle.p12', 'x', 'private_key'],
    ['.env', 'app', 'credential'],
    ['.env.production', 'app', 'credential'],
    ['config', '.kube', 'credential'],
    ['credentials', '.aws', 'credential'],
    ['.pgpass', 'alice', 'credential'],
    ['.my.cnf', 'alice', 'credential'],
    ['.netrc', 'alice', 'credential'],
    ['.git-credentials', 'alice', 'credential'],
    ['credentials.json', 'app', 'credential'],
    ['shadow', 'etc', 'credential'],
  ])('%s in %s is a %s by name', (name, parent, kind) => {
    expect(secretByName(name, parent)?.kind).toBe(kind);
  });

  it.each([
    ['id_rsa.pub', '.ssh'],
    ['cert.pem', 'ssl'],
    ['.env.example', 'app'],
    ['.env.sample', 'app'],
    ['config', 'app'],
    ['.key', 'x'],
    ['shadow', 'backup'],
  ])('%s in %s is not a secret by name', (name, parent) => {
    expect(secretByName(name, parent)).toBeUndefined();
  });

  it('sniffs PEM, OpenSSH, PKCS#8, encrypted, PGP and PuTTY private keys, not certificates', () => {
    const head = (s: string) => new TextEncoder().encode(s);
    for (const label of [
      'RSA PRIVATE KEY',
      'OPENSSH PRIVATE KEY',
      'PRIVATE KEY',
      'ENCRYPTED PRIVATE KEY',
      'EC PRIVATE KEY',
    ])
      expect(headHasPrivateKey(head(`notes\n-----BEGIN ${label}-----\nMIIEvQIBADANBgkq\n`)), label).toBe(
        true,
      );
    expect(headHasPrivateKey(head('-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n'))).toBe(
      true,
    );
    expect(headHasPrivateKey(head('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXabcdefgh\n'))).toBe(true);
    expect(headHasPrivateKey(head('PuTTY-User-Key-File-3: ssh-ed25519\n'))).toBe(true);
    // A service-account JSON keeps the key in a string with escaped line breaks.
    expect(
      headHasPrivateKey(head('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkq\\n"}')),
    ).toBe(true);
    expect(headHasPrivateKey(head('-----BEGIN CERTIFICATE-----\nMIIBIjANBgkq\n'))).toBe(false);
    expect(headHasPrivateKey(head('-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n'))).toBe(false);
    // Code that only names the header is not a key.
    expect(headHasPrivateKey(head('_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n'))).toBe(false);
    expect(headHasPrivateKey(head('if line == "-----BEGIN RSA PRIVATE KEY-----\\n":\n'))).toBe(false);
    expect(headHasPrivateKey(new Uint8Array([0xff, 0xfe, 0x00, 0x80]))).toBe(false);
  });

  it('knows the system binary locations and config files', () => {
    for (const p of [
      '/usr/bin/passwd',
      '/usr/sbin/x',
      '/bin/su',
      '/sbin/x',
      '/usr/lib/dbus-1.0/helper',
      '/usr/lib64/x',
      '/usr/libexec/x',
    ])
      expect(isSystemBinaryPath(p), p).toBe(true);
    for (const p of ['/usr/local/bin/x', '/home/a/bin/x', '/tmp/x', '/usr/binx/y', '/opt/usr/bin/x'])
      expect(isSystemBinaryPath(p), p).toBe(false);
    expect(isConfigFile('/etc/sudoers', 'sudoers')).toBe(true);
    expect(isConfigFile('/srv/app/app.yaml', 'app.yaml')).toBe(true);
    expect(isConfigFile('/srv/app/readme.txt', 'readme.txt')).toBe(false);
  });

  it('sniffs only files a private key would make a finding of', () => {
    const base = { name: 'notes.txt', size: 100, mode: 0o644, uid: 1, parentUid: 1, byName: undefined };
    expect(shouldSniff(base)).toBe(true);
    expect(shouldSniff({ ...base, mode: 0o600 })).toBe(false);
    expect(shouldSniff({ ...base, mode: 0o600, uid: 2 })).toBe(true);
    expect(shouldSniff({ ...base, size: 0 })).toBe(false);
    expect(shouldSniff({ ...base, size: 50 * 1024 * 1024 })).toBe(false);
    expect(shouldSniff({ ...base, name: 'ssh.py' })).toBe(false);
    expect(shouldSniff({ ...base, name: 'libfoo.so.1.2' })).toBe(false);
    expect(shouldSniff({ ...base, name: 'backup' })).toBe(true);
    expect(shouldSniff({ ...base, name: 'big.pem', size: 50 * 1024 * 1024 })).toBe(true);
    expect(shouldSniff({ ...base, byName: { kind: 'private_key', reason: 'x' } })).toBe(false);
  });
});

describe('permission rules', () => {
  it('private keys: others critical, group high, 0600 and 0400 fine', () => {
    expect(ids(file({ hostPath: '/home/alice/.ssh/id_rsa', mode: 0o644 }))).toEqual([
      ['private_key_exposed', 'critical', `chmod 600 '/home/alice/.ssh/id_rsa'`],
    ]);
    expect(ids(file({ hostPath: '/home/alice/.ssh/id_rsa', mode: 0o640 }))).toEqual([
      ['private_key_exposed', 'high', `chmod 600 '/home/alice/.ssh/id_rsa'`],
    ]);
    expect(ids(file({ hostPath: '/home/alice/.ssh/id_rsa', mode: 0o444 }))).toEqual([
      ['private_key_exposed', 'critical', `chmod 400 '/home/alice/.ssh/id_rsa'`],
    ]);
    expect(ids(file({ hostPath: '/home/alice/.ssh/id_rsa', mode: 0o600 }))).toEqual([]);
    expect(ids(file({ hostPath: '/home/alice/.ssh/id_rsa', mode: 0o400 }))).toEqual([]);
  });

  it('credential files: others high, group medium; /etc/shadow may be group-readable', () => {
    expect(ids(file({ hostPath: '/srv/app/.env', mode: 0o640 }))).toEqual([
      ['credential_exposed', 'medium', `chmod 600 '/srv/app/.env'`],
    ]);
    expect(ids(file({ hostPath: '/srv/app/.env', mode: 0o604 }))).toEqual([
      ['credential_exposed', 'high', `chmod 600 '/srv/app/.env'`],
    ]);
    const shadow = { hostPath: '/etc/shadow', uid: 0, gid: 42, parent: { uid: 0, gid: 0 } };
    expect(ids(file({ ...shadow, mode: 0o640 }))).toEqual([]);
    expect(ids(file({ ...shadow, mode: 0o644 }))).toEqual([
      ['credential_exposed', 'high', `chmod 640 '/etc/shadow'`],
    ]);
  });

  it('a key found by content counts as a private key, with evidence that never quotes it', () => {
    const f = file({ hostPath: '/srv/notes.txt', mode: 0o644 });
    expect(ids(f)).toEqual([]);
    const found = judgeEntry({ ...f, secret: withContent(f.secret, true) }, names);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      id: 'permissions.private_key_exposed:/srv/notes.txt',
      category: 'private_key_exposed',
      severity: 'critical',
      mode: '0644',
      expectedMode: '0600',
      user: 'alice',
      group: 'alice',
      uid: 1000,
      gid: 1000,
      fix: `chmod 600 '/srv/notes.txt'`,
    });
    expect(found[0]?.evidence).toContain('a PEM private key in its first 4 KiB');
    expect(found[0]?.evidence).toContain(
      'mode 0644 (-rw-r--r--), owner alice (uid 1000), group alice (gid 1000)',
    );
  });

  it('ownership: a secret owned by another user than its directory, root a lesser case', () => {
    const other = file({ hostPath: '/home/alice/.ssh/id_ed25519', mode: 0o600, uid: 33, gid: 33 });
    expect(ids(other)).toEqual([
      ['secret_owner', 'medium', `chown alice:alice '/home/alice/.ssh/id_ed25519'`],
    ]);
    expect(judgeEntry(other, names)[0]).toMatchObject({
      expectedOwner: 'alice:alice',
      user: null,
      group: 'www-data',
    });
    const byRoot = file({ hostPath: '/home/alice/.env', mode: 0o600, uid: 0, gid: 0 });
    expect(ids(byRoot)).toEqual([['secret_owner', 'low', `chown alice:alice '/home/alice/.env'`]]);
    // Unknown ids stay numeric in the command.
    const unknown = file({
      hostPath: '/srv/x/.pgpass',
      mode: 0o600,
      uid: 5,
      parent: { uid: 4321, gid: 4322 },
    });
    expect(ids(unknown)).toEqual([['secret_owner', 'medium', `chown 4321:4322 '/srv/x/.pgpass'`]]);
  });

  it('world-writable files medium; a world-writable secret is reported once, as a secret', () => {
    expect(ids(file({ hostPath: '/srv/data.txt', mode: 0o666 }))).toEqual([
      ['world_writable_file', 'medium', `chmod 664 '/srv/data.txt'`],
    ]);
    expect(ids(file({ hostPath: '/srv/.env', mode: 0o666 }))).toEqual([
      ['credential_exposed', 'high', `chmod 600 '/srv/.env'`],
    ]);
  });

  it('world-writable directories without the sticky bit are high; with it, fine', () => {
    const dir = (mode: number) => ({
      ...file({ hostPath: '/srv/drop', mode }),
      kind: 'directory' as const,
      secret: undefined,
    });
    expect(ids(dir(0o777))).toEqual([['world_writable_dir', 'high', `chmod 1777 '/srv/drop'`]]);
    expect(ids(dir(0o1777))).toEqual([]);
    expect(ids(dir(0o755))).toEqual([]);
    // A directory named like a secret is still just a directory.
    expect(ids({ ...dir(0o755), hostPath: '/srv/.env', name: '.env' })).toEqual([]);
  });

  it('setuid/setgid outside the system locations high; inside, or setgid-as-locking, fine', () => {
    expect(ids(file({ hostPath: '/home/alice/bin/helper', mode: 0o4755 }))).toEqual([
      ['setuid', 'high', `chmod 755 '/home/alice/bin/helper'`],
    ]);
    expect(judgeEntry(file({ hostPath: '/opt/x', mode: 0o6755, uid: 0, gid: 0 }), names)[0]?.title).toBe(
      '/opt/x: setuid+setgid binary outside the system locations',
    );
    expect(ids(file({ hostPath: '/usr/bin/passwd', mode: 0o4755, uid: 0 }))).toEqual([]);
    expect(ids(file({ hostPath: '/srv/lockfile', mode: 0o2644 }))).toEqual([]);
  });

  it('one target mode for every chmod on a path: a world-writable setuid file', () => {
    const found = judgeEntry(file({ hostPath: '/tmp/x', mode: 0o4777 }), names);
    expect(found.map((f) => [f.category, f.fix])).toEqual([
      ['world_writable_file', `chmod 775 '/tmp/x'`],
      ['setuid', `chmod 775 '/tmp/x'`],
    ]);
    expect(new Set(found.map((f) => f.expectedMode))).toEqual(new Set(['0775']));
  });

  it('config files owned by someone other than root or the directory owner: medium', () => {
    const etc = { parent: { uid: 0, gid: 0 }, gid: 0 };
    expect(ids(file({ ...etc, hostPath: '/etc/nginx.conf', uid: 33 }))).toEqual([
      ['config_owner', 'medium', `chown root:root '/etc/nginx.conf'`],
    ]);
    expect(ids(file({ ...etc, hostPath: '/etc/sudoers', uid: 1000 }))[0]?.[0]).toBe('config_owner');
    expect(ids(file({ ...etc, hostPath: '/etc/nginx.conf', uid: 0 }))).toEqual([]);
    expect(ids(file({ hostPath: '/home/alice/app.yml', uid: 1000 }))).toEqual([]);
    expect(ids(file({ hostPath: '/home/alice/readme.txt', uid: 33 }))).toEqual([]);
    // Without the directory's owner there is nothing to compare with.
    expect(ids(file({ ...etc, hostPath: '/etc/x.conf', uid: 33, parent: undefined }))).toEqual([]);
  });
});
