import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { B62, SecretFactory } from './secretFixtures.js';

/**
 * The labelled samples scan_secrets is measured on: the real fixtures of other secret scanners
 * (tests/corpora/secrets/corpus.jsonl, see its SOURCES.md) and random secrets of each documented
 * family generated here (seeded), in the syntaxes they turn up in, with look-alikes that are not
 * secrets. A sample is a text and the rule ids that must fire on it (a multiset: two secrets on
 * one line are two findings).
 */
export interface Sample {
  /** What recall is reported for: a rule id, or generic:<kind> for the generic rule's families. */
  family: string;
  source: string;
  text: string;
  expected: string[];
}

const CORPUS = join(import.meta.dirname, '../corpora/secrets/corpus.jsonl');

export function fixtureSamples(): Sample[] {
  return readFileSync(CORPUS, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { source: string; path: string; expected: string[]; text_b64: string })
    .map((r) => ({
      family: r.expected[0] ?? 'none',
      source: `${r.source}:${r.path}`,
      text: Buffer.from(r.text_b64, 'base64').toString('utf8'),
      expected: r.expected,
    }));
}

const SYMBOLS = '!@#%^&*-_=+.';
const B64 = `${B62}+/`;

/** Real camelCase and PascalCase identifiers (the DOM's), the shape the old filters were for. */
function realIdentifiers(): string[] {
  const dts = readFileSync(
    join(import.meta.dirname, '../../node_modules/typescript/lib/lib.dom.d.ts'),
    'utf8',
  );
  const ids = new Set<string>();
  for (const m of dts.matchAll(/\b[A-Za-z][a-z]+(?:[A-Z][a-z0-9]+){1,5}\b/g))
    if (m[0].length >= 12) ids.add(m[0]);
  return [...ids].sort();
}

export function generatedSamples(seed = 1601, perFamily = 200): Sample[] {
  const f = new SecretFactory(seed);
  const pick = <T>(xs: readonly T[]): T => xs[f.below(xs.length)] as T;
  const int = (lo: number, hi: number) => lo + f.below(hi - lo + 1);
  const out: Sample[] = [];
  const push = (family: string, text: string, expected: string[]) =>
    out.push({ family, source: 'generated', text, expected });

  // --- vendor tokens in the contexts they turn up in ---
  const contexts = [
    (t: string) => `TOKEN=${t}`,
    (t: string) => `  key: "${t}"`,
    (t: string) => `{"value": "${t}"},`,
    (t: string) => `const client = new Client('${t}');`,
    (t: string) => `export CREDENTIAL=${t}`,
    (t: string) => `${t}`,
    (t: string) => `curl -H "X-Token: ${t}" https://api.internal/v1`,
    (t: string) => `<string name="k">${t}</string>`,
  ];
  const vendors: Array<[string, () => string]> = [
    ['aws-access-key-id', f.awsKeyId],
    ['github-pat', f.githubPat],
    ['github-oauth-token', f.githubOauth],
    ['github-app-token', () => f.githubToken(pick(['s', 'u', 'r'] as const))],
    ['github-fine-grained-pat', f.githubFineGrained],
    ['gitlab-pat', f.gitlab],
    ['slack-token', f.slackToken],
    ['stripe-secret-key', f.stripeSecret],
    ['stripe-restricted-key', f.stripeRestricted],
    ['anthropic-api-key', f.anthropic],
    ['openai-api-key', () => (int(0, 1) ? f.openaiProject() : f.openaiLegacy())],
    ['google-api-key', f.google],
    ['jwt', f.jwt],
  ];
  for (const [rule, make] of vendors)
    for (let i = 0; i < perFamily; i++) push(rule, pick(contexts)(make()), [rule]);
  for (let i = 0; i < perFamily; i++) {
    push('aws-secret-access-key', `aws_secret_access_key = ${f.awsSecret()}`, ['aws-secret-access-key']);
    push('slack-webhook', `url: https://hooks.slack.com/services/${f.slackWebhookPath()}`, ['slack-webhook']);
    push('basic-auth-url', `DATABASE_URL=postgres://app:${f.password(int(12, 30))}@db.internal:5432/app`, [
      'basic-auth-url',
    ]);
    const pem = [
      '-----BEGIN RSA PRIVATE KEY-----',
      ...f.pemBody(int(8, 25)),
      '-----END RSA PRIVATE KEY-----',
    ];
    if (i < 40) push('private-key', pem.join('\n'), ['private-key']);
  }

  // --- generic: random values of every alphabet assigned to credential names ---
  const issueNames = ['API_SECRET', 'DB_PASSWORD', 'SESSION_SECRET'];
  const names = [
    ...issueNames,
    'password',
    'client_secret',
    'api_key',
    'apiKey',
    'auth_token',
    'SECRET_KEY',
    'db_pass',
    'passwd',
    'private-key',
    'accessToken',
    'SMTP_PASSWORD',
  ];
  const forms = [
    (n: string, v: string) => `${n}=${v}`,
    (n: string, v: string) => `${n}: "${v}"`,
    (n: string, v: string) => `  "${n}": "${v}",`,
    (n: string, v: string) => `${n} = '${v}'`,
    (n: string, v: string) => `export ${n}="${v}"`,
    (n: string, v: string) => `      - ${n}=${v}`,
  ];
  const alphabets: Array<[string, string]> = [
    ['generic:random-mixed-case', B62],
    ['generic:random-symbols', B62 + SYMBOLS],
    ['generic:random-lower-digits', 'abcdefghijklmnopqrstuvwxyz0123456789'],
  ];
  for (const [family, alphabet] of alphabets)
    for (let i = 0; i < perFamily * 2; i++) {
      const n = i < perFamily ? pick(issueNames) : pick(names);
      push(family, pick(forms)(n, f.chars(alphabet, int(14, 40))), ['generic-secret']);
    }
  for (let i = 0; i < perFamily; i++) {
    const v = pick([
      () => f.hex(32),
      () => f.hex(40),
      () => f.hex(64),
      () => f.chars(B64, 40),
      () => f.uuid(),
    ])();
    push('generic:hex-base64-uuid', pick(forms)(pick(names), v), ['generic-secret']);
  }

  // --- generic: names outside the old keyword list, and assignment forms of other languages ---
  const wideNames = ['creds', 'user_auth', 'auth', 'key', 'CREDS', 'db_creds', 'Auth', 'basic_auth', 'KEY'];
  for (let i = 0; i < perFamily; i++)
    push('generic:names', pick(forms)(pick(wideNames), f.chars(B62, int(16, 40))), ['generic-secret']);
  const langForms = [
    (v: string) => `var apiSecret string = "${v}"`,
    (v: string) => `\t\tdbPassword string = "${v}"`,
    (v: string) => `$config['db_password'] .= '${v}';`,
    (v: string) => `props.setProperty("SERVICE_TOKEN", "${v}");`,
    (v: string) => `System.setProperty("db.password", "${v}");`,
    (v: string) => `token := utils.GetEnvOrDefault("api_token", "${v}")`,
    (v: string) => `os.environ.setdefault("DJANGO_SECRET_KEY", "${v}")`,
    (v: string) => `  <add key="ApiSecret" value="${v}" />`,
    (v: string) => `private static final String CLIENT_SECRET = "${v}";`,
    (v: string) => `let password: &str = "${v}";`,
    (v: string) => `$password = "${v}";`,
    (v: string) => `@api_key = '${v}'`,
    (v: string) => `password := "${v}"`,
    (v: string) => `set -g SECRET_TOKEN "${v}"`,
  ];
  for (let i = 0; i < perFamily; i++)
    push('generic:forms', pick(langForms)(f.chars(B62 + '-_', int(16, 40))), ['generic-secret']);

  // --- several secrets on one line ---
  for (let i = 0; i < perFamily; i++) {
    const a = f.chars(B62, int(16, 32));
    const b = f.chars(B62, int(16, 32));
    const line = pick([
      () => `DB_USER=app DB_PASSWORD=${a} API_SECRET=${b}`,
      () => `{"client_secret": "${a}", "refresh_token": "${b}"}`,
      () => `password=${a}&api_key=${b}`,
    ])();
    push('generic:two-per-line', line, ['generic-secret', 'generic-secret']);
  }
  for (let i = 0; i < perFamily / 2; i++)
    push('two-vendor-tokens', `AWS_ACCESS_KEY_ID=${f.awsKeyId()} GITHUB_TOKEN=${f.githubPat()}`, [
      'aws-access-key-id',
      'github-pat',
    ]);

  // --- look-alikes: must not be reported ---
  const none = (family: string, text: string) => push(family, text, []);
  for (const id of realIdentifiers().filter((_, i) => i % 4 === 0))
    none('none:identifier', `${pick(['secret', 'password', 'token', 'apiKey'])}: ${id}`);
  for (let i = 0; i < perFamily; i++) {
    none(
      'none:hash',
      pick([
        () => `      "hashed_secret": "${f.hex(40)}",`,
        () => `password_hash = "${f.hex(64)}"`,
        () => `secret_sha256: ${f.hex(64)}`,
        () => `TOKEN_SHA1=${f.hex(40)}`,
        () => `"apiKeyHash": "${f.chars(B64, 44)}"`,
        () => `password_digest: "${f.chars(B64, 43)}="`,
        () => `integrity_secret_checksum = "${f.hex(32)}"`,
      ])(),
    );
    none(
      'none:csrf-public',
      pick([
        () => `csrf-token=${f.chars(B64, 86)}==`,
        () => `"csrf_token": "${f.chars(B62, 40)}"`,
        () => `X-CSRF-Token: ${f.chars(B62, 32)}`,
        () => `publicToken = "${f.chars(B62, 43)}"`,
        () => `public_key = "${f.chars(B62, 43)}"`,
        () => `PUBLIC_KEY=${f.chars(B64, 60)}`,
        () => `NEXT_PUBLIC_API_KEY=${f.chars(B62, 32)}`,
        () => `publishableKey: "${['pk', '_live_'].join('')}${f.chars(B62, 24)}"`,
      ])(),
    );
    none(
      'none:ids-and-non-key-names',
      pick([
        () => `clientId = "${f.uuid()}"`,
        () => `credentialsId: '${f.uuid()}'`,
        () => `primaryKey=${f.chars(B62, 30)}`,
        () => `foreignKey=${f.chars(B62, 30)}`,
        () => `key_down_event=${f.chars(B62, 30)}`,
        () => `"keyId": "${f.chars(B62, 20)}"`,
        () => `token_type: ${f.chars('abcdefghijklmnopqrstuvwxyz', 12)}`,
        () => `password_reset_url: https://example.org/${f.chars(B62, 20)}`,
      ])(),
    );
    none(
      'none:prose',
      pick([
        (v: string) => `"help": "Set password=${v} in the config file before you start the service"`,
        (v: string) => `msg = "The token: ${v} was rejected by the server, try again"`,
        (v: string) => `  description: 'Use secret=${v} only in development setups'`,
      ])(f.chars(B62, int(14, 30))),
    );
    none(
      'none:allowlisted',
      pick([
        (v: string) => `password = "${v}"  # pragma: allowlist secret`,
        (v: string) => `API_SECRET=${v} # audit:allow`,
        (v: string) => `const token = "${v}"; // pragma: allowlist secret`,
      ])(f.chars(B62, int(16, 30))),
    );
  }
  // Test and documentation values with vendor prefixes.
  const markers = ['TEST', 'test', 'EXAMPLE', 'example', 'FAKE', 'fake', 'Dummy', 'SAMPLE'];
  for (let i = 0; i < perFamily; i++) {
    const m = pick(markers);
    none(
      'none:test-markers',
      pick([
        () => `AWS_ACCESS_KEY_ID=${['AK', 'IA'].join('')}${'TEST'.repeat(4)}`,
        () =>
          `aws_access_key_id = ${['AK', 'IA'].join('')}${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 9)}EXAMPLE`,
        () => {
          const body = `${m}${f.chars(B62, 26 - m.length)}`.padEnd(30, 'a').slice(0, 30);
          return `token: ${['gh', 'p_'].join('')}${body}${f.chars(B62, 6)}`;
        },
        () => `${['sk', '_live_'].join('')}${m}${f.chars(B62, 20)}`,
        () =>
          `${['xo', 'xb-'].join('')}${f.chars('0123456789', 12)}-${f.chars('0123456789', 13)}-${m}${f.chars(B62, 16)}`,
      ])(),
    );
  }
  for (let i = 0; i < perFamily; i++) {
    none(
      'none:malformed-vendor',
      pick([
        // A classic GitHub token whose checksum does not match (made up by hand).
        () => `GITHUB_TOKEN=${['gh', 'p_'].join('')}${f.chars(B62, 30)}${f.chars(B62, 6)}`,
        // Anthropic keys: too short, wrong suffix, unknown version.
        () => `ANTHROPIC_API_KEY=${['sk', '-ant-', 'api03-'].join('')}${f.chars(`${B62}-_`, int(30, 80))}AA`,
        () => `${['sk', '-ant-', 'api03-'].join('')}${f.chars(`${B62}-_`, 93)}BB`,
        () => `${['sk', '-ant-', 'api07-'].join('')}${f.chars(`${B62}-_`, 93)}AA`,
        // Google: a 34-character tail.
        () => `key=${['AI', 'za'].join('')}${f.chars(`${B62}-_`, 34)}`,
      ])(),
    );
  }
  return out;
}

export interface Score {
  tp: number;
  fp: number;
  fn: number;
}

/** Per-rule and per-family counts from what a scanner found on each sample. */
export function score(samples: Sample[], found: (text: string) => string[]) {
  const byRule = new Map<string, Score>();
  const byFamily = new Map<string, Score & { n: number }>();
  const misses: Array<{ sample: Sample; got: string[] }> = [];
  const get = <T>(m: Map<string, T>, k: string, init: () => T) => {
    let v = m.get(k);
    if (!v) m.set(k, (v = init()));
    return v;
  };
  for (const s of samples) {
    const got = found(s.text);
    const fam = get(byFamily, s.family, () => ({ tp: 0, fp: 0, fn: 0, n: 0 }));
    fam.n++;
    const rules = new Set([...got, ...s.expected]);
    let wrong = false;
    for (const r of rules) {
      const want = s.expected.filter((x) => x === r).length;
      const have = got.filter((x) => x === r).length;
      const tp = Math.min(want, have);
      const sc = get(byRule, r, () => ({ tp: 0, fp: 0, fn: 0 }));
      sc.tp += tp;
      sc.fp += have - tp;
      sc.fn += want - tp;
      fam.tp += tp;
      fam.fp += have - tp;
      fam.fn += want - tp;
      if (have !== want) wrong = true;
    }
    if (wrong) misses.push({ sample: s, got });
  }
  return { byRule, byFamily, misses };
}

export const precision = (s: Score) => (s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp));
export const recall = (s: Score) => (s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn));
