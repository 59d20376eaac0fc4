import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { base62, crc32 } from '../../src/audit/secrets/checksum.js';

/**
 * Secret-shaped strings and a labelled tree of them, built at test time: the repository holds
 * no string a secret scanner (ours, GitHub's push protection) would flag. Prefixes are joined
 * from pieces and bodies come from a seeded generator, so runs are reproducible.
 */

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
export const B62 = UPPER + LOWER + DIGITS;
const B32 = `${UPPER}234567`;
const B64 = `${B62}+/`;
const B64URL = `${B62}-_`;

/** mulberry32: small, seeded, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SecretFactory {
  private readonly rnd: () => number;
  constructor(seed = 8) {
    this.rnd = seededRandom(seed);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.rnd() * alphabet.length)];
    return s;
  }

  awsKeyId = () => ['AK', 'IA'].join('') + this.chars(B32, 16);
  awsSecret = () => this.chars(B64, 40);
  /** A classic GitHub token as GitHub makes them: 30 random characters and their CRC-32 in base62. */
  githubToken = (kind: 'p' | 'o' | 'u' | 's' | 'r') => {
    const body = this.chars(B62, 30);
    return `${['gh', kind, '_'].join('')}${body}${base62(crc32(body), 6)}`;
  };
  githubPat = () => this.githubToken('p');
  githubOauth = () => this.githubToken('o');
  githubApp = () => this.githubToken('s');
  githubFineGrained = () => ['github', '_pat_'].join('') + this.chars(B62, 22) + '_' + this.chars(B62, 59);
  gitlab = () => ['gl', 'pat-'].join('') + this.chars(B62, 20);
  slackToken = () =>
    ['xo', 'xb-'].join('') +
    this.chars(DIGITS, 12) +
    '-' +
    this.chars(DIGITS, 13) +
    '-' +
    this.chars(B62, 24);
  /** The secret part of a webhook URL (what is fingerprinted). */
  slackWebhookPath = () =>
    `T${this.chars(UPPER + DIGITS, 8)}/B${this.chars(UPPER + DIGITS, 10)}/${this.chars(B62, 24)}`;
  stripeSecret = () => ['sk', '_live_'].join('') + this.chars(B62, 24);
  stripeRestricted = () => ['rk', '_live_'].join('') + this.chars(B62, 24);
  /** Project keys carry the T3BlbkFJ signature ("openai" in base64) between two 74-character halves. */
  openaiProject = () =>
    ['sk', '-proj-'].join('') + this.chars(B64URL, 74) + ['T3Blbk', 'FJ'].join('') + this.chars(B64URL, 74);
  openaiLegacy = () =>
    ['sk', '-'].join('') + this.chars(B62, 20) + ['T3Blbk', 'FJ'].join('') + this.chars(B62, 20);
  anthropic = () => ['sk', '-ant-', 'api03-'].join('') + this.chars(B64URL, 93) + 'AA';
  google = () => ['AI', 'za'].join('') + this.chars(B64URL, 35);
  jwt = () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: this.chars(DIGITS, 8), iat: 1767225600 })}.${this.chars(B64URL, 43)}`;
  };
  password = (n = 20) => this.chars(B62, n - 2) + '#!';
  /** Base64 lines of a PEM body. */
  pemBody = (lines = 12) => Array.from({ length: lines }, () => this.chars(B64, 64));
  uuid = () => {
    const h = (n: number) => this.chars('0123456789abcdef', n);
    return `${h(8)}-${h(4)}-4${h(3)}-a${h(3)}-${h(12)}`;
  };
  hex = (n: number) => this.chars('0123456789abcdef', n);
}

export interface Planted {
  /** Path relative to the scanned root. */
  file: string;
  line: number;
  rule: string;
}

export interface SecretTree {
  /** The directory to allow and scan. */
  scanRoot: string;
  /** A sibling directory outside the allowed root, holding a secret a symlink points at. */
  outside: string;
  /** Findings the scan must report (the labelled positives). */
  expected: Planted[];
  /**
   * Real secrets the scanner is known to miss (a documented limitation): counted as false
   * negatives in the precision/recall table, not asserted as found.
   */
  knownMisses: Planted[];
  /** Every secret-like value planted (reported or not): none may appear in a result. */
  secrets: string[];
  /** Secrets accepted through SECRETS_ALLOWLIST_FILE: (rule, secret), for computing fingerprints. */
  allowlisted: Array<{ rule: string; secret: string }>;
  /** Files that hold secrets but must not be read, relative to scanRoot (or absolute when outside). */
  unreadFiles: string[];
  /** Whether a FIFO could be made (mkfifo). */
  fifo: boolean;
}

type Line = string | [text: string, rule: string];

/** Writes the labelled fixture tree under `base` (a fresh temp dir). */
export function buildSecretTree(base: string): SecretTree {
  const f = new SecretFactory();
  const scanRoot = join(base, 'scan');
  const outside = join(base, 'outside');
  const expected: Planted[] = [];
  const secrets: string[] = [];
  const unreadFiles: string[] = [];
  const knownMisses: Planted[] = [];
  const put = (rel: string, lines: Line[]) => {
    const text = lines.map((l, i) => {
      if (typeof l === 'string') return l;
      if (l[1].startsWith('miss:')) {
        knownMisses.push({ file: rel, line: i + 1, rule: l[1].slice(5) });
        return l[0];
      }
      expected.push({ file: rel, line: i + 1, rule: l[1] });
      return l[0];
    });
    const path = join(scanRoot, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${text.join('\n')}\n`);
  };
  const s = <T extends string>(v: T): T => {
    secrets.push(v);
    return v;
  };

  // --- positives, one or more per rule, in the file types they turn up in ---
  const awsId = s(f.awsKeyId());
  put('app/.env', [
    '# production settings',
    [`AWS_ACCESS_KEY_ID=${awsId}`, 'aws-access-key-id'],
    [`AWS_SECRET_ACCESS_KEY=${s(f.awsSecret())}`, 'aws-secret-access-key'],
    [`GITHUB_TOKEN=${s(f.githubPat())}`, 'github-pat'],
    [`DB_PASSWORD=${s(f.password())}`, 'generic-secret'],
    'API_KEY=${API_KEY}',
    'SESSION_SECRET=changeme',
    'ADMIN_PASSWORD=$ADMIN_PASSWORD',
    `REQUEST_ID=${f.uuid()}`,
  ]);
  put('app/config/settings.yml', [
    'gitlab:',
    [`  token: ${s(f.gitlab())}`, 'gitlab-pat'],
    'slack:',
    [`  bot_token: "${s(f.slackToken())}"`, 'slack-token'],
    [`  webhook: https://hooks.slack.com/services/${s(f.slackWebhookPath())}`, 'slack-webhook'],
    'maps:',
    [`  key: ${s(f.google())}`, 'google-api-key'],
    'database:',
    '  password: "{{ vault_db_password }}"',
    '  token: $TOKEN',
    '  secret: your-secret-here',
    '  api_key: <your key>',
    '  password_file: /run/secrets/db_password',
    '  token_type: bearer',
    [`  client_secret: "${s(f.password(28))}"`, 'generic-secret'],
    `  aws_example: ${['AK', 'IA', 'IOSFODNN7', 'EXAMPLE'].join('')}`,
  ]);
  put('app/src/payments.ts', [
    "import Stripe from 'stripe';",
    [`const stripe = new Stripe('${s(f.stripeSecret())}');`, 'stripe-secret-key'],
    [`const restricted = '${s(f.stripeRestricted())}';`, 'stripe-restricted-key'],
    [`const openai = { apiKey: '${s(f.openaiProject())}' };`, 'openai-api-key'],
    [`const legacyOpenai = "${s(f.openaiLegacy())}";`, 'openai-api-key'],
    [`const anthropic = "${s(f.anthropic())}";`, 'anthropic-api-key'],
    [`const oauth = "${s(f.githubOauth())}";`, 'github-oauth-token'],
    [`const install = "${s(f.githubApp())}";`, 'github-app-token'],
    [`const fine = "${s(f.githubFineGrained())}";`, 'github-fine-grained-pat'],
    'const password = process.env.DB_PASSWORD;',
    'if (token === undefined) throw new Error("no token");',
    'export interface Login { password: string; token?: string }',
    "const header = '-----BEGIN RSA PRIVATE KEY-----';",
    `const placeholder = "${['gh', 'p_'].join('')}${'x'.repeat(36)}";`,
  ]);
  const body = f.pemBody();
  body.forEach((l) => secrets.push(l));
  put('app/keys/server.pem', [
    ['-----BEGIN RSA PRIVATE KEY-----', 'private-key'],
    ...body,
    '-----END RSA PRIVATE KEY-----',
  ]);
  const saBody = f.pemBody(6);
  saBody.forEach((l) => secrets.push(l));
  put('app/keys/service-account.json', [
    '{',
    '  "type": "service_account",',
    [
      `  "private_key": "-----BEGIN PRIVATE KEY-----\\n${saBody.join('\\n')}\\n-----END PRIVATE KEY-----\\n",`,
      'private-key',
    ],
    `  "client_id": "${f.chars(DIGITS, 21)}"`,
    '}',
  ]);
  const dbPass = s(f.password(16));
  put('app/docs/notes.md', [
    '# Notes',
    [`curl -H "Authorization: Bearer ${s(f.jwt())}" https://api.internal/`, 'jwt'],
    [`DATABASE_URL=postgres://app:${dbPass}@db.internal:5432/app`, 'basic-auth-url'],
    'REDIS_URL=redis://:password@localhost:6379',
    'BACKUP_URL=https://backup:${BACKUP_PASSWORD}@backup.internal/',
    'Clone with git clone ssh://git@example.org/repo.git',
    'The password: must be at least 12 characters long.',
  ]);
  // Git keeps remote credentials in .git/config; objects are compressed and not read.
  put('app/.git/config', [
    '[remote "origin"]',
    [`\turl = https://deploy:${s(f.password(24))}@git.internal/org/app.git`, 'basic-auth-url'],
  ]);
  mkdirSync(join(scanRoot, 'app/.git/objects/ab'), { recursive: true });
  writeFileSync(join(scanRoot, 'app/.git/objects/ab/cdef'), `token=${s(f.githubPat())}\n`);
  unreadFiles.push('app/.git/objects/ab/cdef');

  // --- generic assignments in the syntaxes they turn up in, and look-alikes ---
  put('app/deploy/compose.yml', [
    'services:',
    '  db:',
    '    environment:',
    [`      - POSTGRES_PASSWORD=${s(f.password())}`, 'generic-secret'],
    '      - POSTGRES_PASSWORD_FILE=/run/secrets/pg',
    '      - MYSQL_PASSWORD=${MYSQL_PASSWORD:-}',
    '  cache:',
    '    environment:',
    [`      REDIS_PASSWORD: "${s(f.password(18))}"`, 'generic-secret'],
  ]);
  put('app/scripts/deploy.sh', [
    '#!/bin/sh',
    [`export API_TOKEN="${s(f.password(32))}"`, 'generic-secret'],
    'export TOKEN="$(cat /run/secrets/token)"',
    'read -r -s PASSWORD',
    [`curl -u admin:${s(f.password(16))} https://ci.internal/api`, 'miss:generic-secret'],
  ]);
  put('app/settings.py', [
    [`SECRET_KEY = '${s(f.chars(`${B62}!@%^&*-_=+`, 50))}'`, 'generic-secret'],
    "DATABASES = {'default': {'PASSWORD': os.environ['DB_PASSWORD']}}",
    "AWS_SECRET = get_secret('aws')",
    // 11 characters: below a flat 3.5 bits/char, found since the bar follows length (issue 16).
    [`SMTP_PASSWORD = "${s('Tr0ub4dor&3')}"`, 'generic-secret'],
  ]);
  put('app/config.json', [
    '{',
    [`  "apiKey": "${s(f.hex(32))}",`, 'generic-secret'],
    '  "apiKeyHeader": "X-Api-Key",',
    '  "passwordMinLength": 12,',
    '  "token": null,',
    `  "sessionId": "${f.uuid()}"`,
    '}',
  ]);
  put('app/application.properties', [
    [`spring.datasource.password=${s(f.password())}`, 'generic-secret'],
    'spring.mail.password=${MAIL_PASSWORD}',
  ]);
  put('app/main.go', [
    'package main',
    [`const apiToken = "${s(f.password(24))}"`, 'generic-secret'],
    'token := os.Getenv("TOKEN")',
    'if password == "" {',
  ]);
  put('app/web.config', [
    '<appSettings>',
    [`  <add key="ApiSecret" value="${s(f.password(24))}" />`, 'generic-secret'],
    '</appSettings>',
  ]);
  put('app/locales/fr.json', [
    '{',
    '  "password": "Mot de passe oublié ?",',
    '  "token_expired": "Votre session a expiré, reconnectez-vous",',
    '  "secret_question": "Quel est le nom de votre premier animal ?"',
    '}',
  ]);

  // --- hard negatives: lock files, ids, hashes ---
  const integrity = () => `sha512-${f.chars(B64, 86)}==`;
  put('app/package-lock.json', [
    '{',
    '  "name": "app",',
    '  "lockfileVersion": 3,',
    '  "packages": {',
    '    "node_modules/js-tokens": {',
    '      "version": "4.0.0",',
    '      "resolved": "https://registry.npmjs.org/js-tokens/-/js-tokens-4.0.0.tgz",',
    `      "integrity": "${integrity()}"`,
    '    },',
    '    "node_modules/secret-handshake": {',
    '      "version": "1.1.21",',
    `      "integrity": "${integrity()}",`,
    '      "dependencies": { "password-hash": "^1.2.2", "csrf-tokens": "~3.0.1" }',
    '    }',
    '  }',
    '}',
  ]);
  put('app/yarn.lock', [
    'js-tokens@^4.0.0:',
    '  version "4.0.0"',
    `  resolved "https://registry.yarnpkg.com/js-tokens/-/js-tokens-4.0.0.tgz#${f.hex(40)}"`,
    `  integrity ${integrity()}`,
  ]);
  put('app/data/ids.json', [
    '{',
    `  "id": "${f.uuid()}",`,
    `  "trace_id": "${f.uuid()}",`,
    `  "commit": "${f.hex(40)}",`,
    `  "checksum": "${f.hex(64)}",`,
    `  "etag": "${f.hex(32)}"`,
    '}',
  ]);

  // --- accepted: by fingerprint and by inline comment ---
  const legacy = s(f.githubPat());
  put('app/legacy.env', [`LEGACY_TOKEN=${legacy}`]);
  put('app/inline.env', [`STRIPE_KEY=${s(f.stripeSecret())} # audit:allow (test account)`]);

  // --- .gitignore: ignored, re-included, ignored directory ---
  put('app/.gitignore', ['# local files', '*.local', '!keep.local', 'build/', '/secrets.txt']);
  put('app/dev.local', [`TOKEN=${s(f.githubPat())}`]);
  put('app/keep.local', [[`TOKEN=${s(f.githubPat())}`, 'github-pat']]);
  put('app/build/bundle.js', [`var k="${s(f.stripeSecret())}";`]);
  put('app/secrets.txt', [`password=${s(f.password())}`]);
  // Anchored (/secrets.txt): the same name deeper down is not ignored.
  put('app/sub/secrets.txt', [[`password=${s(f.password())}`, 'generic-secret']]);
  unreadFiles.push('app/dev.local', 'app/build/bundle.js', 'app/secrets.txt');

  // --- a binary file with a token inside ---
  const bin = Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0]),
    Buffer.from(`${s(f.githubPat())}\n`),
  ]);
  writeFileSync(join(scanRoot, 'app/tool.bin'), bin);
  unreadFiles.push('app/tool.bin');

  // --- a 50 MB file (sparse: instant to make) with a token at the start ---
  writeFileSync(join(scanRoot, 'app/huge.log'), `token=${s(f.githubPat())}\n`);
  truncateSync(join(scanRoot, 'app/huge.log'), 50 * 1024 * 1024);
  unreadFiles.push('app/huge.log');

  // --- symlinks: a loop to an ancestor, a two-link cycle, a duplicate, and ways out ---
  mkdirSync(join(scanRoot, 'app/links'), { recursive: true });
  symlinkSync('..', join(scanRoot, 'app/links/up'));
  symlinkSync('b', join(scanRoot, 'app/links/a'));
  symlinkSync('a', join(scanRoot, 'app/links/b'));
  symlinkSync('../.env', join(scanRoot, 'app/links/same.env'));
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'creds.env'), `GITHUB_TOKEN=${s(f.githubPat())}\n`);
  symlinkSync(outside, join(scanRoot, 'app/links/outside-dir'));
  symlinkSync(join(outside, 'creds.env'), join(scanRoot, 'app/links/outside.env'));
  unreadFiles.push(join(outside, 'creds.env'));

  // --- a FIFO: opening it would block forever ---
  let fifo = false;
  try {
    execFileSync('mkfifo', [join(scanRoot, 'app/pipe')]);
    fifo = true;
  } catch {
    // no mkfifo: the case is skipped
  }

  return {
    scanRoot,
    outside,
    expected,
    knownMisses,
    secrets,
    allowlisted: [{ rule: 'github-pat', secret: legacy }],
    unreadFiles,
    fifo,
  };
}
