import { DatabaseError } from './net/database/common.js';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './configError.js';
import { readOperatorFileSync } from './host/verifiedFile.js';

const MAX_TARGETS_FILE_BYTES = 1024 * 1024;
const MAX_PASSWORD_FILE_BYTES = 64 * 1024;
const MAX_CA_FILE_BYTES = 1024 * 1024;

/**
 * Every file named here is read by handle, regular files only, size-capped
 * (src/host/verifiedFile.ts): a password file swapped for a FIFO cannot block the process (these
 * reads are synchronous), nor a link swapped in lead the read elsewhere than the path resolved.
 */
const readText = (path: string, maxBytes: number): string =>
  readOperatorFileSync(path, maxBytes).toString('utf8');

/**
 * DB_TARGETS_FILE: the databases check_database may reach, in YAML (or JSON), either a list or
 * `{targets: [...]}`:
 *
 *   - name: shop            # what clients pass as `target`
 *     kind: mysql           # mysql (also MariaDB) | postgres
 *     host: 127.0.0.1       # or socket: /run/mysqld/mysqld.sock
 *     port: 3306
 *     user: audit
 *     passwordEnv: SHOP_DB_PASSWORD   # or passwordFile: /etc/server-audit/shop.pw
 *     database: shop
 *     tls: { rejectUnauthorized: true, caFile: /etc/ssl/db-ca.pem }   # or true / false
 *
 * Validated at start-up; a bad entry, an unset password variable or an unreadable password file
 * stops the server with a ConfigError. Passwords never enter the Config's enumerable fields:
 * each target carries a `password()` function (a file is read again per call, so a rotated
 * password is picked up), so logging a target or the config cannot print one.
 */

const absolute = z.string().refine((p) => p.startsWith('/'), { error: 'must be an absolute path' });

const tlsSchema = z.union([
  z.boolean(),
  z
    .object({
      rejectUnauthorized: z.boolean().default(true),
      caFile: absolute.optional(),
      servername: z.string().min(1).max(253).optional(),
    })
    .strict(),
]);

export const dbTargetSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
      error: 'must be 1-64 letters, digits, _ or - (it becomes a metric name)',
    }),
    kind: z.enum(['mysql', 'postgres'], { error: 'must be mysql or postgres' }),
    host: z.string().min(1).max(253).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    socket: absolute.optional(),
    user: z.string().min(1).max(128),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
      .optional(),
    passwordFile: absolute.optional(),
    database: z.string().min(1).max(128).optional(),
    tls: tlsSchema.optional(),
    timeoutMs: z.number().int().min(100).max(120_000).optional(),
  })
  .strict()
  .refine((t) => t.host !== undefined || t.socket !== undefined, { error: 'needs host or socket' })
  .refine((t) => !(t.host !== undefined && t.socket !== undefined), { error: 'set host or socket, not both' })
  .refine((t) => !(t.passwordEnv !== undefined && t.passwordFile !== undefined), {
    error: 'set passwordEnv or passwordFile, not both',
  })
  .refine((t) => !(t.socket !== undefined && t.tls !== undefined && t.tls !== false), {
    error: 'tls needs host, not socket',
  });

const fileSchema = z.union([
  z.array(dbTargetSchema),
  z
    .object({ targets: z.array(dbTargetSchema) })
    .strict()
    .transform((o) => o.targets),
]);

type TargetFields = z.infer<typeof dbTargetSchema>;

export interface DbTarget extends Omit<TargetFields, 'passwordEnv' | 'passwordFile' | 'tls'> {
  tls?: { rejectUnauthorized: boolean; ca?: string; servername?: string };
  /** Where the password comes from, for messages: `env FOO`, `file /x`, or `none`. */
  passwordSource: string;
  /** The password (undefined: none configured). Non-enumerable, so never serialised. */
  password: () => string | undefined;
}

export function loadDbTargetsFile(path: string, env: NodeJS.ProcessEnv): DbTarget[] {
  const fail = (why: string): never => {
    throw new ConfigError(`Invalid DB_TARGETS_FILE (got "${path}"): ${why}`);
  };
  let text = '';
  try {
    text = readText(path, MAX_TARGETS_FILE_BYTES);
  } catch (err) {
    fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? [];
  } catch (err) {
    fail(`not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    // The union hides the per-entry issue: re-validate as a list for a precise message.
    const list = Array.isArray(raw) ? raw : (raw as { targets?: unknown })?.targets;
    const issue =
      (Array.isArray(list) ? z.array(dbTargetSchema).safeParse(list).error : undefined)?.issues[0] ??
      result.error.issues[0];
    if (!Array.isArray(list)) fail('must be a list of targets, or {targets: [...]}');
    const path = issue?.path ?? [];
    const where =
      typeof path[0] === 'number'
        ? `targets[${path[0]}]${path
            .slice(1)
            .map((p) => `.${String(p)}`)
            .join('')}`
        : path.length > 0
          ? path.map(String).join('.')
          : '(top level)';
    const entry = typeof path[0] === 'number' && Array.isArray(list) ? (list[path[0]] as unknown) : undefined;
    const name =
      entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string'
        ? ` (target "${(entry as { name: string }).name}")`
        : '';
    fail(`${where}${name}: ${issue?.message ?? 'must be a list of targets'}`);
  }
  const parsed = (result.data ?? []) as TargetFields[];
  const seen = new Set<string>();
  return parsed.map((t) => {
    if (seen.has(t.name)) fail(`target name "${t.name}" appears twice`);
    seen.add(t.name);
    const { passwordEnv, passwordFile, tls, ...rest } = t;
    let password: () => string | undefined = () => undefined;
    let passwordSource = 'none';
    if (passwordEnv !== undefined) {
      const value = env[passwordEnv];
      if (value === undefined || value === '')
        fail(`target "${t.name}": passwordEnv ${passwordEnv} is not set in the environment`);
      password = () => value;
      passwordSource = `env ${passwordEnv}`;
    } else if (passwordFile !== undefined) {
      const read = () => readText(passwordFile, MAX_PASSWORD_FILE_BYTES).replace(/\r?\n$/, '');
      try {
        read();
      } catch (err) {
        fail(
          `target "${t.name}": passwordFile ${passwordFile} cannot be read (${(err as NodeJS.ErrnoException).code})`,
        );
      }
      // Read again per call (a rotated password is picked up); a later failure names the target,
      // never the server path, and is the operator's to fix, not a database outage.
      password = () => {
        try {
          return read();
        } catch (err) {
          throw new DatabaseError(
            `the passwordFile of target "${t.name}" cannot be read now (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
            'EAUTH',
          );
        }
      };
      passwordSource = 'passwordFile'; // the path stays on the server: clients see this text
    }
    let tlsOpts: DbTarget['tls'];
    if (tls === true) tlsOpts = { rejectUnauthorized: true };
    else if (tls && typeof tls === 'object') {
      let ca: string | undefined;
      if (tls.caFile) {
        try {
          ca = readText(tls.caFile, MAX_CA_FILE_BYTES);
        } catch (err) {
          fail(
            `target "${t.name}": tls.caFile ${tls.caFile} cannot be read (${(err as NodeJS.ErrnoException).code})`,
          );
        }
        if (!ca?.includes('-----BEGIN CERTIFICATE-----'))
          fail(`target "${t.name}": tls.caFile ${tls.caFile} holds no PEM certificate`);
      }
      tlsOpts = {
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(ca ? { ca } : {}),
        ...(tls.servername ? { servername: tls.servername } : {}),
      };
    }
    const target = { ...rest, ...(tlsOpts ? { tls: tlsOpts } : {}), passwordSource } as DbTarget;
    Object.defineProperty(target, 'password', { value: password, enumerable: false });
    return target;
  });
}
