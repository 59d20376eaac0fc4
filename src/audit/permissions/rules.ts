/**
 * The permission rules: from one entry's facts (mode, owner, its directory's owner, what it
 * is) to findings with the expected mode and the exact command that fixes each. Pure.
 *
 * Severities, and why:
 * - private key readable or writable by others: critical (any local account or compromised
 *   service can take it); by group: high (every member of the group can).
 * - credential file (.env, .pgpass, kubeconfig ...) by others: high; by group: medium.
 *   Lower than keys: a credential is usually scoped and rotatable, a key often opens servers.
 * - secret owned by another user than its directory's owner: medium (that user can read it and
 *   the directory's owner may not); low when the other owner is root (no one else gains access).
 * - world-writable directory without the sticky bit: high (anyone can delete or replace
 *   anyone's files in it: the classic /tmp-style attack on scripts and services).
 * - world-writable file: medium (tampering, but the damage depends on who reads it).
 * - setuid/setgid binary outside the system locations: high (a privilege boundary nobody
 *   packaged; the usual persistence trick after a compromise).
 * - config file owned by an unexpected user (not root, not the directory's owner): medium (that
 *   user can change how a service behaves).
 */
import type { Finding, Severity } from '../findings.js';
import { type AccountNames, describeId } from './accounts.js';
import { isConfigFile, isSystemBinaryPath, type SecretMatch } from './classify.js';
import {
  chmodArg,
  groupCanAccess,
  octalMode,
  othersCanAccess,
  S_ISGID,
  S_ISUID,
  S_ISVTX,
  symbolicMode,
  worldWritable,
} from './mode.js';
import { shellQuote } from './shell.js';

export const PERMISSION_CATEGORIES = [
  'private_key_exposed',
  'credential_exposed',
  'secret_owner',
  'world_writable_dir',
  'world_writable_file',
  'setuid',
  'config_owner',
] as const;
export type PermissionCategory = (typeof PERMISSION_CATEGORIES)[number];

export interface PermissionFinding extends Finding {
  category: PermissionCategory;
  /** Host path, as the operator would type it. */
  path: string;
  kind: 'file' | 'directory';
  /** Octal, e.g. 0644. */
  mode: string;
  /** The mode once every finding on this entry is fixed (the same for all of them). */
  expectedMode: string;
  uid: number;
  gid: number;
  user: string | null;
  group: string | null;
  /** `user:group` the entry should have, for ownership findings; null otherwise. */
  expectedOwner: string | null;
  /** One command, the path shell-quoted. For the operator to review and run; nothing is applied. */
  fix: string;
}

export interface EntryFacts {
  hostPath: string;
  name: string;
  kind: 'file' | 'directory';
  /** st_mode; file-type bits are ignored. */
  mode: number;
  uid: number;
  gid: number;
  /** The containing directory's owner; undefined when it could not be read. */
  parent: { uid: number; gid: number } | undefined;
  /** By name (secretByName), possibly upgraded by content: see withContent. */
  secret: SecretMatch | undefined;
}

/** A private key found by content outranks whatever the name said. */
export function withContent(byName: SecretMatch | undefined, headHasKey: boolean): SecretMatch | undefined {
  if (headHasKey && byName?.kind !== 'private_key')
    return { kind: 'private_key', reason: 'a PEM private key in its first 4 KiB' };
  return byName;
}

/** The permission bits a secret may keep: the owner's read/write, plus group read where designed. */
function secretTargetMode(mode: number, secret: SecretMatch): number {
  const owner = mode & 0o600;
  return (owner & 0o400 ? owner : 0o600) | (secret.groupReadOk ? mode & 0o040 : 0);
}

function secretExcess(mode: number, secret: SecretMatch): { others: boolean; group: boolean } {
  const group = secret.groupReadOk ? (mode & 0o030) !== 0 : groupCanAccess(mode);
  return { others: othersCanAccess(mode), group };
}

const isSetid = (mode: number) =>
  ((mode & S_ISUID) !== 0 && (mode & 0o111) !== 0) ||
  // setgid without group execute marks mandatory locking, not a privilege.
  ((mode & S_ISGID) !== 0 && (mode & 0o010) !== 0);

/** The mode with every chmod-fixable problem of this entry fixed. */
export function targetMode(f: EntryFacts): number {
  let m = f.mode & 0o7777;
  if (f.kind === 'directory') {
    if (worldWritable(m) && !(m & S_ISVTX)) m |= S_ISVTX;
    return m;
  }
  if (f.secret) {
    const x = secretExcess(m, f.secret);
    if (x.others || x.group) m = (m & 0o7000) | secretTargetMode(m, f.secret);
  }
  if (worldWritable(m)) m &= ~0o002;
  if (isSetid(m) && !isSystemBinaryPath(f.hostPath)) m &= ~(S_ISUID | S_ISGID);
  return m;
}

export function judgeEntry(f: EntryFacts, names: AccountNames): PermissionFinding[] {
  const out: PermissionFinding[] = [];
  const target = targetMode(f);
  const user = names.user(f.uid);
  const group = names.group(f.gid);
  const modeText = `mode ${octalMode(f.mode)} (${symbolicMode(f.mode, f.kind)})`;
  const ownerText = `owner ${describeId('uid', f.uid, user)}, group ${describeId('gid', f.gid, group)}`;
  const q = shellQuote(f.hostPath);
  const chmod = `chmod ${chmodArg(target)} ${q}`;
  const add = (
    category: PermissionCategory,
    severity: Severity,
    title: string,
    evidence: string,
    recommendation: string,
    fix: string,
    expectedOwner: string | null = null,
  ) =>
    out.push({
      id: `permissions.${category}:${f.hostPath}`,
      severity,
      title: `${f.hostPath}: ${title}`,
      evidence,
      recommendation,
      category,
      path: f.hostPath,
      kind: f.kind,
      mode: octalMode(f.mode),
      expectedMode: octalMode(target),
      uid: f.uid,
      gid: f.gid,
      user: user ?? null,
      group: group ?? null,
      expectedOwner,
      fix,
    });

  if (f.kind === 'directory') {
    if (worldWritable(f.mode) && !(f.mode & S_ISVTX))
      add(
        'world_writable_dir',
        'high',
        'world-writable directory without the sticky bit',
        `${modeText}, ${ownerText}: anyone can delete or replace anyone's files in it`,
        `Run \`${chmod}\` (sticky: only a file's owner may delete it) if it must stay shared, or \`chmod o-w ${q}\` if it need not be.`,
        chmod,
      );
    return out;
  }

  const dirOwner = f.parent ? ownerSpec(f.parent.uid, f.parent.gid, names) : undefined;
  const otherOwner = f.parent !== undefined && f.uid !== f.parent.uid;

  if (f.secret) {
    const what = f.secret.kind === 'private_key' ? 'private key' : 'credential file';
    const x = secretExcess(f.mode, f.secret);
    if (x.others || x.group) {
      const who = x.others ? 'others' : 'its group';
      const severity: Severity =
        f.secret.kind === 'private_key' ? (x.others ? 'critical' : 'high') : x.others ? 'high' : 'medium';
      add(
        f.secret.kind === 'private_key' ? 'private_key_exposed' : 'credential_exposed',
        severity,
        `${what} readable or writable by ${who}`,
        `${modeText}, ${ownerText}; a ${what}: ${f.secret.reason}. Expected ${octalMode(target)} or stricter.`,
        `Run \`${chmod}\`${x.others ? ' and rotate it if untrusted accounts could have read it' : ''}.` +
          (x.others
            ? ''
            : ' If the group is a dedicated one that only a service uses (e.g. ssl-cert), this may be intended.'),
        chmod,
      );
    }
    if (otherOwner && dirOwner) {
      const severity: Severity = f.uid === 0 ? 'low' : 'medium';
      const fix = `chown ${dirOwner} ${q}`;
      add(
        'secret_owner',
        severity,
        `${what} owned by another user than its directory's owner`,
        `${ownerText}; the directory belongs to ${dirOwner}; a ${what}: ${f.secret.reason}`,
        f.uid === 0
          ? `Run \`${fix}\` if ${dirOwner} should use it; root owning it exposes it to no one else.`
          : `Run \`${fix}\`: the current owner can read it, and change it.`,
        fix,
        dirOwner,
      );
    }
  } else if (worldWritable(f.mode)) {
    add(
      'world_writable_file',
      'medium',
      'world-writable file',
      `${modeText}, ${ownerText}: any local account can change it`,
      `Run \`${chmod}\`.`,
      chmod,
    );
  }

  if (isSetid(f.mode) && !isSystemBinaryPath(f.hostPath)) {
    const bits = [f.mode & S_ISUID ? 'setuid' : '', f.mode & S_ISGID && f.mode & 0o010 ? 'setgid' : '']
      .filter(Boolean)
      .join('+');
    add(
      'setuid',
      'high',
      `${bits} binary outside the system locations`,
      `${modeText}, ${ownerText}: runs with the rights of ${f.mode & S_ISUID ? describeId('uid', f.uid, user) : describeId('gid', f.gid, group)} for whoever starts it; not under /usr/bin, /usr/sbin, /bin, /sbin, /usr/lib* or /usr/libexec`,
      `Check whether a package installed it (dpkg -S / rpm -qf); if not, run \`${chmod}\` and find out how it got there.`,
      chmod,
    );
  }

  if (!f.secret && otherOwner && f.uid !== 0 && dirOwner && isConfigFile(f.hostPath, f.name)) {
    const fix = `chown ${dirOwner} ${q}`;
    add(
      'config_owner',
      'medium',
      'config file owned by an unexpected user',
      `${ownerText}; not root and not the directory's owner (${dirOwner}), so that user can change the configuration`,
      `Run \`${fix}\` unless that user is meant to manage it.`,
      fix,
      dirOwner,
    );
  }
  return out;
}

/** `alice:staff`, or numbers where the host's files do not name them. */
export function ownerSpec(uid: number, gid: number, names: AccountNames): string {
  return `${names.user(uid) ?? uid}:${names.group(gid) ?? gid}`;
}
