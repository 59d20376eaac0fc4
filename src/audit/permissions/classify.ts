/**
 * What a file is, judged from its name, its place and (for candidates) its first 4 KiB. Pure:
 * the walker in src/host/permissionWalk.ts supplies the facts.
 */

export type SecretKind = 'private_key' | 'credential';

export interface SecretMatch {
  kind: SecretKind;
  /** Why, for the evidence: "named id_rsa", "*.key". */
  reason: string;
  /**
   * Group read is part of the platform's design (Debian's /etc/shadow is root:shadow 0640), so
   * only others' access is wrong.
   */
  groupReadOk?: boolean;
}

const PRIVATE_KEY_NAMES = new Set([
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  'id_ecdsa_sk',
  'id_ed25519_sk',
  'identity',
  'signing.key',
]);

const CREDENTIAL_NAMES = new Set([
  '.env',
  'kubeconfig',
  '.pgpass',
  '.my.cnf',
  '.netrc',
  '.git-credentials',
  'credentials.json',
  '.npmrc',
  '.pypirc',
  '.htpasswd',
  'htpasswd',
  '.vault-token',
]);

/** Files named credentials/config only mean secrets inside these tool directories. */
const CREDENTIAL_IN_DIR: Record<string, string[]> = {
  '.kube': ['config'],
  '.aws': ['credentials'],
  '.docker': ['config.json'],
  '.gnupg': [],
};

/** `.env.example` and friends are committed templates, not secrets. */
const ENV_TEMPLATES = /^\.env\.(?:example|sample|template|dist|defaults?|tpl)$/i;

/**
 * A private key or credential file by name: exact names, `*.key`, PKCS#12 bundles, SSH host
 * keys, `.env` and `.env.*`. `*.pem` is not here on purpose: most are certificates, which are
 * public; a `.pem` counts only when its content shows a private key.
 */
export function secretByName(name: string, parentName: string): SecretMatch | undefined {
  if (PRIVATE_KEY_NAMES.has(name)) return { kind: 'private_key', reason: `named ${name}` };
  if (/^ssh_host_[a-z0-9]+_key$/.test(name)) return { kind: 'private_key', reason: 'an SSH host key' };
  if (/\.key$/i.test(name) && name.length > 4) return { kind: 'private_key', reason: '*.key' };
  if (/\.(?:p12|pfx|ppk)$/i.test(name))
    return { kind: 'private_key', reason: 'a key bundle (*.p12, *.pfx, *.ppk)' };
  if (CREDENTIAL_NAMES.has(name)) return { kind: 'credential', reason: `named ${name}` };
  if (name.startsWith('.env.') && !ENV_TEMPLATES.test(name)) return { kind: 'credential', reason: '.env.*' };
  if (/\.kubeconfig$/i.test(name)) return { kind: 'credential', reason: '*.kubeconfig' };
  if (CREDENTIAL_IN_DIR[parentName]?.includes(name))
    return { kind: 'credential', reason: `${parentName}/${name}` };
  if ((name === 'shadow' || name === 'gshadow') && parentName === 'etc')
    return { kind: 'credential', reason: `/etc/${name} (password hashes)`, groupReadOk: true };
  return undefined;
}

/**
 * PEM private keys of every flavour (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8, PGP blocks) and
 * PuTTY key files, shaped like a real key rather than a mention of one: the header starts a line
 * (or a quoted string, as in a service-account JSON) and is followed by a line break (real or
 * escaped `\n`) and key data or PEM headers. Code that only names the header (cryptography's
 * ssh.py, a parser's constants) does not match. Matched on latin1 text so no byte can throw.
 */
const PRIVATE_KEY_CONTENT = [
  /(?:^|[\n"'])[ \t]*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\r?\n|(?:\\r)?\\n){1,2}(?:[A-Za-z0-9+/]{8}|Proc-Type:|Version:|Comment:)/,
  /(?:^|\n)PuTTY-User-Key-File-\d+: /,
];

/** Whether a file's head shows a private key. The caller reads at most 4 KiB. */
export function headHasPrivateKey(head: Uint8Array): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  return PRIVATE_KEY_CONTENT.some((re) => re.test(text));
}

/** Names that usually hold configuration, wherever they are. */
const CONFIG_NAME = /\.(?:conf|cnf|cfg|ini|ya?ml|toml)$/i;

/** Everything under /etc is configuration; elsewhere, by extension. */
export function isConfigFile(hostPath: string, name: string): boolean {
  return hostPath.startsWith('/etc/') || CONFIG_NAME.test(name);
}

/**
 * Where distributions install setuid/setgid helpers (passwd, sudo, su, ssh-keysign, dbus's
 * helper): the usual system locations. Anything elsewhere (home directories, /tmp, /opt, /srv,
 * /usr/local) is worth a look.
 */
const SYSTEM_BINARY_DIRS = /^\/(?:usr\/bin|usr\/sbin|bin|sbin|usr\/lib[^/]*|usr\/libexec)\//;

export function isSystemBinaryPath(hostPath: string): boolean {
  return SYSTEM_BINARY_DIRS.test(hostPath);
}

/** Files bigger than this are sniffed only when named like key material: keys are small. */
export const SNIFF_MAX_SIZE = 64 * 1024;
export const SNIFF_BYTES = 4096;

/**
 * Source code, compiled objects, media, archives, translations and docs: a private key there is
 * either not in the first 4 KiB as text or a mention in code. Skipping them keeps a scan of /usr
 * from opening every library file (measured: 94k opens and 2k entries/s, against far fewer).
 */
const NOT_KEY_MATERIAL =
  /\.(?:py[cod]?|m?js|cjs|ts|map|css|html?|[ch](?:c|pp|xx)?|hh|go|rs|java|class|jar|so(?:\.[\d.]+)?|o|a|ko|dll|exe|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|otf|gz|xz|bz2|zst|zip|tar|deb|rpm|mo|po|pdf|md|rst|pm|pl|rb|php|lua|typelib|qm|pak|dat|db|sqlite)$/i;

/**
 * Whether reading the head can change the verdict: only files that would be a finding if they
 * held a key (group or others can reach them, or someone other than the directory's owner owns
 * them), not already a private key by name, not known non-key material, and small unless named
 * like key material. A 0600 file of the directory's owner is never opened.
 */
export function shouldSniff(f: {
  name: string;
  size: number;
  mode: number;
  uid: number;
  parentUid: number | undefined;
  byName: SecretMatch | undefined;
}): boolean {
  if (f.byName?.kind === 'private_key' || f.size === 0) return false;
  const exposed = (f.mode & 0o077) !== 0 || (f.parentUid !== undefined && f.uid !== f.parentUid);
  if (!exposed || NOT_KEY_MATERIAL.test(f.name)) return false;
  return f.size <= SNIFF_MAX_SIZE || /\.(?:pem|crt|cer|key)$/i.test(f.name);
}
