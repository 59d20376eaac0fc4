import type { Severity } from '../findings.js';
import { githubChecksumOk } from './checksum.js';
import { shannonEntropy } from './entropy.js';
import { GOOGLE_EXAMPLE_KEYS, isPublicExample, JWT_IO_EXAMPLE_SIGNATURES } from './publicExamples.js';

/** What a rule reports: its id is part of every finding and of the fingerprint. */
export interface RuleInfo {
  id: string;
  title: string;
  severity: Severity;
  recommendation: string;
}

/**
 * A credential with a recognisable shape, found by a regular expression on one line. `group` is
 * the capture holding the secret itself (what is fingerprinted and redacted). Every pattern is
 * anchored on a literal prefix with bounded repetitions, so a long line cannot make it backtrack.
 */
export interface TokenRule extends RuleInfo {
  pattern: RegExp;
  group: number;
  /** A value a person chose (a password): test words like "test" or "todo" mark a placeholder. */
  humanChosen?: boolean;
  /** Extra check on the secret (and the whole match), for shapes a regex confuses with ordinary text. */
  validate?: (secret: string, match: RegExpExecArray) => boolean;
}

const ROTATE =
  'Revoke or rotate it now (it may be copied already), then load it from a secret store or the environment.';

/** Not followed by another token character: a 41st character means it is not this token. */
const END = '(?![A-Za-z0-9_-])';
/** Not preceded by a token character: `xghp_...` is not a GitHub token. */
const START = '(?<![A-Za-z0-9_-])';

export const TOKEN_RULES: TokenRule[] = [
  {
    id: 'aws-access-key-id',
    title: 'AWS access key id',
    severity: 'high',
    // A3T[A-Z0-9] is the oldest prefix (gitleaks and detect-secrets still match it).
    pattern: new RegExp(`${START}((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})${END}`, 'g'),
    group: 1,
    validate: (s) => !isPublicExample(s),
    recommendation: `Deactivate the key in IAM and find its secret key too. ${ROTATE}`,
  },
  {
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    severity: 'critical',
    // Only next to a name that says so: 40 base64 characters alone are too common to report.
    pattern: /aws.{0,20}?(?:secret|sk).{0,20}?[\s"'=:>]{1,5}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
    validate: (s) =>
      shannonEntropy(s) >= 4 && /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s) && !isPublicExample(s),
    recommendation: `Deactivate the access key in IAM. ${ROTATE}`,
  },
  {
    id: 'github-pat',
    title: 'GitHub personal access token (classic)',
    severity: 'critical',
    pattern: new RegExp(`${START}(ghp_[A-Za-z0-9]{36})${END}`, 'g'),
    group: 1,
    // The last 6 characters are a CRC-32 of the first 30: a hand-made look-alike fails it.
    validate: githubChecksumOk,
    recommendation: `Revoke it under GitHub Settings > Developer settings > Tokens. ${ROTATE}`,
  },
  {
    id: 'github-oauth-token',
    title: 'GitHub OAuth access token',
    severity: 'critical',
    pattern: new RegExp(`${START}(gho_[A-Za-z0-9]{36})${END}`, 'g'),
    group: 1,
    // The last 6 characters are a CRC-32 of the first 30: a hand-made look-alike fails it.
    validate: githubChecksumOk,
    recommendation: `Revoke the OAuth app's authorization on GitHub. ${ROTATE}`,
  },
  {
    id: 'github-app-token',
    title: 'GitHub App installation, user-to-server or refresh token',
    severity: 'high',
    // Classic 36-character tokens with their checksum, or the longer installation tokens
    // (ghs_<app id>_<JWT>, ghs_ with 80+ characters) GitHub issues to apps.
    pattern: new RegExp(`${START}((?:ghs|ghu|ghr)_[A-Za-z0-9]{36}|ghs_[A-Za-z0-9_.-]{60,1000})${END}`, 'g'),
    group: 1,
    validate: (s) => (s.length === 40 ? githubChecksumOk(s) : shannonEntropy(s) >= 4.5),
    recommendation: `Revoke it from the GitHub App's settings. ${ROTATE}`,
  },
  {
    id: 'github-fine-grained-pat',
    title: 'GitHub fine-grained personal access token',
    severity: 'critical',
    pattern: new RegExp(`${START}(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})${END}`, 'g'),
    group: 1,
    recommendation: `Revoke it under GitHub Settings > Developer settings > Fine-grained tokens. ${ROTATE}`,
  },
  {
    id: 'gitlab-pat',
    title: 'GitLab personal access token',
    severity: 'critical',
    // 20-22 characters, or the routable format: 27+ characters, "." and a 2+7 character suffix.
    pattern: new RegExp(
      `${START}(glpat-(?:[A-Za-z0-9_-]{27,300}\\.(?:[0-9a-z]{2}\\.)?[0-9a-z]{7,9}|[A-Za-z0-9_-]{20,22}))(?![A-Za-z0-9_.-])`,
      'g',
    ),
    group: 1,
    recommendation: `Revoke it under GitLab User settings > Access tokens. ${ROTATE}`,
  },
  {
    id: 'slack-token',
    title: 'Slack token',
    severity: 'high',
    // Token shapes as gitleaks describes them (gitleaks/gitleaks cmd/generate/config/rules/slack.go,
    // MIT): bot/user/app-level/configuration/legacy workspace tokens.
    pattern: new RegExp(
      `${START}(` +
        [
          'xox[bpaer]-[0-9]{8,14}-[0-9]{8,14}[A-Za-z0-9-]{0,120}',
          'xoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}',
          'xoxe\\.xox[bp]-\\d-[A-Za-z0-9]{163,166}',
          'xoxe-\\d-[A-Za-z0-9]{146}',
          'xapp-\\d-[A-Z0-9]{6,20}-\\d{6,20}-[a-z0-9]{32,80}',
          'xox[ar]-(?:\\d-[0-9A-Za-z]{8,48}|[0-9A-Za-z]{8,48}-[0-9A-Za-z]{4,48})(?:-[0-9A-Za-z]{4,48}){0,4}',
          'xox[os]-\\d{6,}-\\d{6,}-\\d{6,}-[a-fA-F0-9]{8,64}',
        ].join('|') +
        `)${END}`,
      'g',
    ),
    group: 1,
    validate: (s) => !s.endsWith('-'),
    recommendation: `Revoke it in the Slack app's OAuth & Permissions page. ${ROTATE}`,
  },
  {
    id: 'slack-webhook',
    title: 'Slack incoming webhook URL',
    severity: 'medium',
    pattern:
      /hooks\.slack\.com\/(?:services|workflows|triggers)\/(T[A-Z0-9]{6,12}\/[A-Z0-9]{6,14}\/[A-Za-z0-9]{20,40})(?![A-Za-z0-9])/g,
    group: 1,
    recommendation: `Anyone with the URL can post to the channel: regenerate it in the Slack app. ${ROTATE}`,
  },
  {
    id: 'stripe-secret-key',
    title: 'Stripe live secret key',
    severity: 'critical',
    pattern: new RegExp(`${START}(sk_live_[A-Za-z0-9]{20,247})${END}`, 'g'),
    group: 1,
    validate: (s) => shannonEntropy(s) >= 3.5,
    recommendation: `Roll the key in the Stripe dashboard (Developers > API keys). ${ROTATE}`,
  },
  {
    id: 'stripe-restricted-key',
    title: 'Stripe live restricted key',
    severity: 'high',
    pattern: new RegExp(`${START}(rk_live_[A-Za-z0-9]{20,247})${END}`, 'g'),
    group: 1,
    validate: (s) => shannonEntropy(s) >= 3.5,
    recommendation: `Roll the key in the Stripe dashboard (Developers > API keys). ${ROTATE}`,
  },
  {
    // Before openai-api-key: both start with "sk-".
    id: 'anthropic-api-key',
    title: 'Anthropic API key',
    severity: 'critical',
    // Exactly as Anthropic issues them: api03 (API) or admin01 (Admin API), 93 characters, AA.
    pattern: new RegExp(`${START}(sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)${END}`, 'g'),
    group: 1,
    recommendation: `Disable the key in the Anthropic Console (Settings > API keys). ${ROTATE}`,
  },
  {
    id: 'openai-api-key',
    title: 'OpenAI API key',
    severity: 'critical',
    // Every kind (legacy, proj, svcacct, admin, named service accounts) carries T3BlbkFJ
    // ("openai" in base64) between two random halves; sk- strings without it are other things.
    pattern: new RegExp(
      `${START}(sk-(?:[a-z0-9]{1,20}-){0,4}[A-Za-z0-9_-]{16,200}T3BlbkFJ[A-Za-z0-9_-]{16,200})${END}`,
      'g',
    ),
    group: 1,
    validate: (s) => /[0-9]/.test(s) && shannonEntropy(s) >= 3.5,
    recommendation: `Revoke the key on the OpenAI platform (API keys). ${ROTATE}`,
  },
  {
    id: 'google-api-key',
    title: 'Google API key',
    severity: 'high',
    pattern: new RegExp(`${START}(AIza[0-9A-Za-z_-]{35})${END}`, 'g'),
    group: 1,
    // Published sample keys, and low-entropy look-alikes (AIzaaaaa...).
    validate: (s) => !GOOGLE_EXAMPLE_KEYS.has(s) && shannonEntropy(s) >= 4,
    recommendation: `Regenerate or restrict the key in Google Cloud Console (APIs & Services > Credentials). ${ROTATE}`,
  },
  {
    id: 'jwt',
    title: 'JSON Web Token',
    severity: 'medium',
    pattern: new RegExp(
      `${START}(eyJ[A-Za-z0-9_-]{8,4000}\\.eyJ[A-Za-z0-9_-]{8,8000}\\.[A-Za-z0-9_-]{16,2000})${END}`,
      'g',
    ),
    group: 1,
    validate: (s) => isJwt(s) && !JWT_IO_EXAMPLE_SIGNATURES.has(s.split('.')[2] ?? ''),
    recommendation:
      'A bearer token works for whoever holds it until it expires: remove it, and revoke the session or rotate the signing key if it is long-lived.',
  },
  {
    id: 'basic-auth-url',
    title: 'Password in a URL',
    severity: 'high',
    // scheme://user:password@host. The password may not hold / ? @ or quotes; a raw # is
    // invalid in a URL but people write it, so it is accepted.
    pattern:
      /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,19}:\/\/([^\s:/?#@'"`<>]{0,64}):([^\s/?@'"`<>]{1,128})@[A-Za-z0-9[]/g,
    group: 2,
    humanChosen: true,
    // user:user@, a bare number (a port typed twice) and 1-3 characters are examples.
    validate: (s, m) => s !== m[1] && !/^\d{1,5}$/.test(s) && [...s].length >= 4,
    recommendation: `Move the password out of the URL (a secret file or the environment). ${ROTATE}`,
  },
];

/** Both header and payload are base64url JSON objects, the header naming an algorithm. */
function isJwt(token: string): boolean {
  const [header, payload] = token.split('.');
  try {
    const h = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as unknown;
    const p = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as unknown;
    return (
      typeof h === 'object' &&
      h !== null &&
      typeof (h as { alg?: unknown }).alg === 'string' &&
      typeof p === 'object' &&
      p !== null
    );
  } catch {
    return false;
  }
}

export const PRIVATE_KEY_RULE: RuleInfo = {
  id: 'private-key',
  title: 'Private key',
  severity: 'critical',
  recommendation:
    'Replace the key pair (revoke certificates issued for it, remove it from authorized_keys) and keep private keys out of the tree, mode 600.',
};

export const GENERIC_RULE: RuleInfo = {
  id: 'generic-secret',
  title: 'Hard-coded password, secret or token',
  severity: 'medium',
  recommendation:
    'Load the value from the environment or a secret store instead; rotate it if this file was ever shared or committed.',
};

export const ALL_RULES: RuleInfo[] = [...TOKEN_RULES, PRIVATE_KEY_RULE, GENERIC_RULE];

export const RULES_BY_ID: ReadonlyMap<string, RuleInfo> = new Map(ALL_RULES.map((r) => [r.id, r]));
