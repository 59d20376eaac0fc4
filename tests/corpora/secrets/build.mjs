#!/usr/bin/env node
/**
 * Builds corpus.jsonl from secret scanners' public test fixtures (see SOURCES.md). Run by hand
 * when the sources change; the test reads only corpus.jsonl, never the network.
 *
 *   node tests/corpora/secrets/build.mjs <mirror-dir>
 *
 * <mirror-dir> holds bare clones named owner+repo/repo (as the project's `fetch` tool makes
 * them): trufflesecurity+trufflehog, secretlint+secretlint, gitleaks+gitleaks, Yelp+detect-secrets.
 *
 * Each record is one line (or one multi-line block for private keys) with the rule ids of this
 * project that must fire on it. The label starts from the source's own verdict (secretlint's
 * expected output, gitleaks' true/false positives, trufflehog's `want`), mapped to our rule ids;
 * where our documented policy differs (LABEL_OVERRIDES below, each with its reason) the override
 * wins. Texts are stored base64-encoded so the repository itself holds no string that a secret
 * scanner (ours, GitHub push protection) would flag.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const mirrors = process.argv[2] ?? '/work/.mirror';
const here = dirname(fileURLToPath(import.meta.url));

const git = (repo, ...args) =>
  execFileSync('git', [`--git-dir=${join(mirrors, repo, 'repo')}`, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
const head = (repo) => git(repo, 'rev-parse', 'HEAD').trim();
const show = (repo, path) => git(repo, 'show', `HEAD:${path}`);
const ls = (repo, path) =>
  git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', path).split('\n').filter(Boolean);

/** Our rule for a vendor-shaped string, by its prefix only (the exact format is the scanner's job). */
function vendorRule(s) {
  if (/^(?:AKIA|ASIA|ABIA|ACCA)/.test(s)) return 'aws-access-key-id';
  if (/^github_pat_/.test(s)) return 'github-fine-grained-pat';
  if (/^ghp_/.test(s)) return 'github-pat';
  if (/^gho_/.test(s)) return 'github-oauth-token';
  if (/^gh[usr]_/.test(s)) return 'github-app-token';
  if (/^glpat-/.test(s)) return 'gitlab-pat';
  if (/^xox[bpars]-/.test(s)) return 'slack-token';
  if (/hooks\.slack\.com/.test(s)) return 'slack-webhook';
  if (/^sk_live_/.test(s)) return 'stripe-secret-key';
  if (/^rk_live_/.test(s)) return 'stripe-restricted-key';
  if (/^sk-ant-/.test(s)) return 'anthropic-api-key';
  if (/^sk-/.test(s)) return 'openai-api-key';
  if (/^AIza/.test(s)) return 'google-api-key';
  if (/^eyJ/.test(s)) return 'jwt';
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*:[^/\s]*@/i.test(s)) return 'basic-auth-url';
  return undefined;
}

const records = new Map();
function add(source, path, text, expected, note) {
  const t = text.replace(/\r/g, '');
  if (t.trim() === '' || t.length > 20000) return;
  const key = createHash('sha256').update(t).digest('hex').slice(0, 12);
  const prev = records.get(key);
  if (prev) {
    // The same text from two sources: keep one record, the union of what each expected.
    for (const r of expected) if (!prev.expected.includes(r)) prev.expected.push(r);
    return;
  }
  records.set(key, { id: key, source, path, expected: [...expected].sort(), note, text: t });
}

// ---------- secretlint: snapshot inputs with the expected findings of each ----------
const SL = 'secretlint+secretlint';
const SL_RULES = {
  AWS_ACCESS_KEY_ID: 'aws-access-key-id',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-access-key',
  ANTHROPIC_API_KEY: 'anthropic-api-key',
  OPENAI_API_KEY: 'openai-api-key',
  GITLAB_PERSONAL_ACCESS_TOKEN: 'gitlab-pat',
  SLACK_INCOMING_WEBHOOK: 'slack-webhook',
  SLACK_TOKEN: 'slack-token',
  OPENAI_TOKEN: 'openai-api-key',
  IncomingWebhook: 'slack-webhook',
  BasicAuth: 'basic-auth-url',
  MongoDBConnection: 'basic-auth-url',
  MySQLConnection: 'basic-auth-url',
  PostgreSQLConnection: 'basic-auth-url',
  STRIPE_SECRET_KEY_LIVE: 'stripe-secret-key',
  STRIPE_RESTRICTED_KEY_LIVE: 'stripe-restricted-key',
  // Test-mode Stripe keys (sk_test_) are not reported by this project: they move no money.
  PrivateKey: 'private-key',
};
function slRule(m) {
  if (m.messageId === 'GITHUB_TOKEN' || /GitHub/.test(m.message))
    return vendorRule(m.data?.KEY ?? '') ?? 'github-pat';
  return SL_RULES[m.messageId];
}
for (const rule of [
  'anthropic',
  'aws',
  'github',
  'gitlab',
  'openai',
  'slack',
  'stripe',
  'basicauth',
  'privatekey',
  'database-connection-string',
  'filter-comments',
]) {
  const base = `packages/@secretlint/secretlint-rule-${rule}/test/snapshots`;
  const dirs = [...new Set(ls(SL, base).map((p) => p.split('/').slice(0, -1).join('/')))];
  for (const dir of dirs) {
    const files = ls(SL, dir);
    const input = files.find((f) => /\/input(?:\.[a-z]+)?$/.test(f) && !f.endsWith('.p12'));
    const output = files.find((f) => f.endsWith('/output.json'));
    if (!input || !output) continue;
    const text = show(SL, input);
    const messages = JSON.parse(show(SL, output)).messages ?? [];
    const byLine = new Map();
    for (const m of messages) {
      const r = slRule(m);
      if (!r) continue;
      const line = m.loc.start.line;
      byLine.set(line, [...(byLine.get(line) ?? []), r]);
    }
    if (rule === 'privatekey') {
      // Keys span lines: the whole file is one record.
      add('secretlint', input, text, [...byLine.values()].flat());
      continue;
    }
    text.split('\n').forEach((l, i) => add('secretlint', `${input}:${i + 1}`, l, byLine.get(i + 1) ?? []));
  }
}

// ---------- gitleaks: each rule's true and false positives ----------
const GL = 'gitleaks+gitleaks';
/** Go string literals that are list elements (not call arguments, not parts of a concatenation). */
function listLiterals(src) {
  const out = [];
  const re = /`([^`]*)`|"((?:[^"\\\n]|\\.)*)"/g;
  let m;
  while ((m = re.exec(src)) !== null) {
    const before = src.slice(0, m.index).replace(/(?:\/\/[^\n]*)?\s*$/, '');
    const lineStart = src.lastIndexOf('\n', m.index) + 1;
    if (/^\s*\/\//.test(src.slice(lineStart, m.index))) continue; // in a comment
    const after = src.slice(m.index + m[0].length).replace(/^[ \t]*(?:\/\/[^\n]*)?\s*/, '');
    const prev = before.at(-1);
    if ((prev !== '{' && prev !== ',') || !/^[,})]/.test(after) || before.endsWith('+')) continue;
    // The seed of utils.GenerateSampleSecrets(kind, secret): a bare value, not a line of text.
    if (/GenerateSampleSecrets?\(\s*"[^"]*",\s*$/.test(before)) continue;
    out.push(m[1] ?? JSON.parse(`"${m[2]}"`));
  }
  return out;
}
// curl.go (credentials in curl -u and -H flags) is a family this project does not cover.
for (const file of [
  'anthropic',
  'aws',
  'github',
  'gitlab',
  'openai',
  'slack',
  'stripe',
  'gcp',
  'jwt',
  'privatekey',
  'generic',
]) {
  const path = `cmd/generate/config/rules/${file}.go`;
  const src = show(GL, path);
  // Split at each tps/fps statement; a block runs to the next statement or return.
  const parts = src.split(/\n\s*(?=(?:tps|fps)\s*:?=)|\n\s*return utils\.Validate/);
  for (const part of parts) {
    const kind = part.match(/^(tps|fps)\s*:?=/)?.[1];
    if (!kind) continue;
    // Comments after a list element or on their own line would hide the element's neighbours.
    const body = part
      .replace(/^(tps|fps)\s*:?=/, '')
      .replace(/([,{(])[ \t]*\/\/[^\n]*$/gm, '$1')
      .replace(/^\s*\/\/[^\n]*$/gm, '');
    for (const lit of listLiterals(body)) {
      const lines = lit.split('\n');
      const block = /-----BEGIN/.test(lit);
      const units = block ? [lit] : lines;
      for (const u of units) {
        let expected = [];
        if (kind === 'tps') {
          const tok = u.match(
            /(?:AKIA|ASIA|ghp_|gho_|gh[usr]_|github_pat_|glpat-|xox[a-z]-|sk_live_|rk_live_|sk-ant-|sk-|AIza|eyJ|hooks\.slack\.com)[^\s"'`,]*/,
          )?.[0];
          if (block) expected = ['private-key'];
          else if (file === 'generic') expected = ['generic-secret'];
          else if (tok && vendorRule(tok)) expected = [vendorRule(tok)];
          else if (lines.length > 1)
            expected = []; // the other lines of a multi-line example
          else continue; // a true positive of a family this project does not cover (sk_test_, glcbt- ...)
        }
        add('gitleaks', `${path} (${kind})`, u, expected);
      }
    }
  }
}

// ---------- trufflehog: the pattern tests' inputs and wanted results ----------
const TH = 'trufflesecurity+trufflehog';
function goExprs(src) {
  const consts = new Map();
  for (const m of src.matchAll(/^\s*(\w+)\s*=\s*(`[^`]*`|"(?:[^"\\\n]|\\.)*")/gm)) consts.set(m[1], m[2]);
  return consts;
}
function splitArgs(s) {
  const out = [];
  let depth = 0;
  let cur = '';
  let q = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      cur += c;
      if (c === '\\' && q === '"') cur += s[++i];
      else if (c === q) q = null;
      continue;
    }
    if (c === '"' || c === '`') q = c;
    if (c === '(' || c === '{' || c === '[') depth++;
    if (c === ')' || c === '}' || c === ']') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
function evalGo(expr, consts, depth = 0) {
  expr = expr.trim();
  if (depth > 5) return undefined;
  if (expr.startsWith('`') && expr.endsWith('`')) return expr.slice(1, -1);
  if (/^"(?:[^"\\]|\\.)*"$/.test(expr)) return JSON.parse(expr);
  if (/^\w+$/.test(expr)) return consts.has(expr) ? evalGo(consts.get(expr), consts, depth + 1) : undefined;
  const sp = expr.match(/^fmt\.Sprintf\(([\s\S]*)\)$/);
  if (sp) {
    const [fmt, ...args] = splitArgs(sp[1]).map((a) => evalGo(a, consts, depth + 1));
    if (fmt === undefined || args.some((a) => a === undefined)) return undefined;
    let i = 0;
    return fmt.replace(/%[sqv]/g, (f) => (f === '%q' ? JSON.stringify(args[i++]) : String(args[i++])));
  }
  const plus = splitArgs(expr.replace(/\+/g, ',')); // a + b (no commas in these operands)
  if (plus.length > 1) {
    const vals = plus.map((a) => evalGo(a, consts, depth + 1));
    return vals.some((v) => v === undefined) ? undefined : vals.join('');
  }
  return undefined;
}
function decodesAsJwt(t) {
  try {
    const [h, p] = t
      .split('.')
      .slice(0, 2)
      .map((x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8')));
    return typeof h?.alg === 'string' && typeof p === 'object' && p !== null;
  } catch {
    return false;
  }
}
const TH_DETECTORS = [
  'anthropic',
  'aws/access_keys',
  'github/v2',
  'gitlab/v2',
  'gitlab/v3',
  'slack',
  'slackwebhook',
  'stripe',
  'openai',
  'openaiadmin',
  'jwt',
  'uri',
  'privatekey',
  'googlegemini',
  'generic',
];
for (const det of TH_DETECTORS) {
  for (const path of ls(TH, `pkg/detectors/${det}`).filter(
    (p) => p.endsWith('_test.go') && !p.includes('integration'),
  )) {
    const src = show(TH, path);
    const consts = goExprs(src);
    for (const m of src.matchAll(
      /\{\s*\n\s*name:\s*("[^"]*"),\s*\n\s*input:\s*([\s\S]*?),\s*\n\s*want:\s*([\s\S]*?),?\s*\n\s*\},?\s*\n/g,
    )) {
      const input = evalGo(m[2], consts);
      if (input === undefined) continue;
      const wantSrc = m[3].match(/\{([\s\S]*?)\}?\s*$/)?.[1] ?? '';
      const wants = splitArgs(wantSrc)
        .map((w) => evalGo(w, consts))
        .filter((w) => typeof w === 'string' && w !== '');
      if (/-----BEGIN/.test(input)) {
        add('trufflehog', `${path} ${m[1]}`, input, wants.length > 0 ? wants.map(() => 'private-key') : []);
        continue;
      }
      for (const line of input.split('\n')) {
        const l = line.replace(/^\t+/, '');
        // trufflehog's JWT tests list only what verification accepts; a JWT in text is a finding
        // here whatever its signature, so those lines are labelled by decoding the token.
        const expected =
          det === 'jwt'
            ? [...l.matchAll(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g)]
                .filter((t) => decodesAsJwt(t[0]))
                .map(() => 'jwt')
            : wants
                .filter((w) => l.includes(w))
                .map((w) => vendorRule(w) ?? (det === 'generic' ? 'generic-secret' : det));
        add('trufflehog', `${path} ${m[1]}`, l, expected);
      }
    }
  }
}

// ---------- detect-secrets: test_data files, labelled by hand (LABELS below) ----------
const DS = 'Yelp+detect-secrets';
const DS_FILES = [
  'test_data/config.env',
  'test_data/config.ini',
  'test_data/config.yaml',
  'test_data/config2.yaml',
  'test_data/config.md',
  'test_data/files/file_with_secrets.py',
  'test_data/files/file_with_no_secrets.py',
  'test_data/short_files/first_line.php',
  'test_data/short_files/last_line.ini',
  'test_data/short_files/middle_line.yml',
  'test_data/baseline.file',
  '.secrets.baseline',
];
// Lines of detect-secrets' test data that hold a secret by this project's definition (a
// credential-named assignment of a random value, or a vendor token), 1-based. Everything else
// in these files is a negative: ids, hashes in baselines, low-entropy words, allow-listed lines.
const DS_LABELS = {
  // [key with id in name] real_secret_which_isnt_an_i_d = <random>: the name says secret.
  'test_data/config.ini': { 32: ['generic-secret'] },
  // low_entropy_binary_secret: !!binary <base64>: a YAML binary value under a secret name.
  'test_data/config.yaml': { 13: ['generic-secret'] },
  'test_data/config2.yaml': { 2: ['generic-secret'] },
  // key="<random 32>": `key` as a whole name.
  'test_data/config.md': { 10: ['generic-secret'] },
};
for (const path of DS_FILES) {
  let text;
  try {
    text = show(DS, path);
  } catch {
    continue;
  }
  const labels = DS_LABELS[path] ?? {};
  text.split('\n').forEach((l, i) => add('detect-secrets', `${path}:${i + 1}`, l, labels[i + 1] ?? []));
}

// ---------- overrides: where this project's documented policy differs from the source ----------
// key: record id (first 12 hex of SHA-256 of the text); value: [expected rules, reason].
import { LABEL_OVERRIDES } from './overrides.mjs';
for (const [id, [expected, reason]] of Object.entries(LABEL_OVERRIDES)) {
  const r = records.get(id);
  if (!r) {
    console.error(`override ${id} matches no record`);
    continue;
  }
  r.expected = [...expected].sort();
  r.note = reason;
}

const out = [...records.values()].map((r) =>
  JSON.stringify({
    id: r.id,
    source: r.source,
    path: r.path,
    expected: r.expected,
    ...(r.note ? { note: r.note } : {}),
    text_b64: Buffer.from(r.text).toString('base64'),
  }),
);
writeFileSync(join(here, 'corpus.jsonl'), `${out.join('\n')}\n`);
const commits = {
  trufflehog: head(TH),
  secretlint: head(SL),
  gitleaks: head(GL),
  'detect-secrets': head(DS),
};
console.log(JSON.stringify({ records: out.length, commits }, null, 1));
