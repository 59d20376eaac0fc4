/**
 * User and group names from the audited host's /etc/passwd and /etc/group (under HOST_ROOT),
 * parsed here rather than through getpwuid: the server may run in a container whose own
 * accounts differ from the host's.
 */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface AccountNames {
  user(uid: number): string | undefined;
  group(gid: number): string | undefined;
}

/**
 * Names that are safe to paste into a shell command unquoted (useradd's rules, plus the `$` of
 * Samba machine accounts). A name outside them is shown by number: a crafted passwd line must
 * not be able to smuggle anything into a recommended command.
 */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

function numeric(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** `name:x:uid:gid:gecos:home:shell` lines; comments, NIS `+`/`-` lines and malformed ones skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const name = f[0] ?? '';
    if (name === '' || name.startsWith('#') || name.startsWith('+') || name.startsWith('-')) continue;
    const uid = numeric(f[2]);
    const gid = numeric(f[3]);
    if (uid === undefined || gid === undefined || !SAFE_NAME.test(name)) continue;
    out.push({ name, uid, gid });
  }
  return out;
}

/** `name:x:gid:members` lines, same filtering as parsePasswd. */
export function parseGroup(text: string): Array<{ name: string; gid: number }> {
  const out: Array<{ name: string; gid: number }> = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const name = f[0] ?? '';
    if (name === '' || name.startsWith('#') || name.startsWith('+') || name.startsWith('-')) continue;
    const gid = numeric(f[2]);
    if (gid === undefined || !SAFE_NAME.test(name)) continue;
    out.push({ name, gid });
  }
  return out;
}

/** Lookups over the parsed files; the first entry for an id wins, as with getpwuid. */
export function accountNames(passwd: string | undefined, group: string | undefined): AccountNames {
  const users = new Map<number, PasswdEntry>();
  for (const e of parsePasswd(passwd ?? '')) if (!users.has(e.uid)) users.set(e.uid, e);
  const groups = new Map<number, string>();
  for (const g of parseGroup(group ?? '')) if (!groups.has(g.gid)) groups.set(g.gid, g.name);
  return {
    user: (uid) => users.get(uid)?.name,
    group: (gid) => groups.get(gid),
  };
}

/** `alice (1000)` or `uid 1000` when the name is unknown. */
export function describeId(kind: 'uid' | 'gid', id: number, name: string | undefined): string {
  return name === undefined ? `${kind} ${id}` : `${name} (${kind} ${id})`;
}
