import type { Severity } from '../findings.js';
import { shannonEntropy } from './entropy.js';

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
    pattern: new RegExp(`${START}((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})${END}`, 'g'),
    group: 1,
    recommendation: `Deactivate the key in IAM and find its secret key too. ${ROTATE}`,
  },
  {
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    severity: 'critical',
    // Only next to a name that says so: 40 base64 characters alone are too common to report.
    pattern: /aws.{0,20}?(?:secret|sk).{0,20}?[\s"'=:>]{1,5}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
    validate: (s) => shannonEntropy(s) >= 4 && /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s),
    recommendation: `Deactivate the access key in IAM. ${ROTATE}`,
  },
  {
    id: 'github-pat',
    title: 'GitHub personal access token (classic)',
    severity: 'critical',
    pattern: new RegExp(`${START}(ghp_[A-Za-z0-9]{36})${END}`, 'g'),
    group: 1,
    recommendation: `Revoke it under GitHub Settings > Developer settings > Tokens. ${ROTATE}`,
  },
  {
    id: 'github-oauth-token',
    title: 'GitHub OAuth access token',
    severity: 'critical',
    pattern: new RegExp(`${START}(gho_[A-Za-z0-9]{36})${END}`, 'g'),
    group: 1,
    recommendation: `Revoke the OAuth app's authorization on GitHub. ${ROTATE}`,
  },
  {
    id: 'github-app-token',
    title: 'GitHub App installation, user-to-server or refresh token',
    severity: 'high',
    pattern: new RegExp(`${START}((?:ghs|ghu|ghr)_[A-Za-z0-9]{36})${END}`, 'g'),
    group: 1,
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
    pattern: new RegExp(`${START}(glpat-[A-Za-z0-9_-]{20,80})${END}`, 'g'),
    group: 1,
    recommendation: `Revoke it under GitLab User settings > Access tokens. ${ROTATE}`,
  },
  {
    id: 'slack-token',
    title: 'Slack token',
    severity: 'high',
    pattern: new RegExp(`${START}(xox[bpars]-[0-9]{6,}-[A-Za-z0-9-]{8,200})${END}`, 'g'),
    group: 1,
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
    pattern: new RegExp(`${START}(sk_live_[A-Za-z0-9]{20,120})${END}`, 'g'),
    group: 1,
    recommendation: `Roll the key in the Stripe dashboard (Developers > API keys). ${ROTATE}`,
  },
  {
    id: 'stripe-restricted-key',
    title: 'Stripe live restricted key',
    severity: 'high',
    pattern: new RegExp(`${START}(rk_live_[A-Za-z0-9]{20,120})${END}`, 'g'),
    group: 1,
    recommendation: `Roll the key in the Stripe dashboard (Developers > API keys). ${ROTATE}`,
  },
  {
    // Before openai-api-key: both start with "sk-".
    id: 'anthropic-api-key',
    title: 'Anthropic API key',
    severity: 'critical',
    pattern: new RegExp(`${START}(sk-ant-[a-z]{3,8}[0-9]{2}-[A-Za-z0-9_-]{32,200})${END}`, 'g'),
    group: 1,
    recommendation: `Disable the key in the Anthropic Console (Settings > API keys). ${ROTATE}`,
  },
  {
    id: 'openai-api-key',
    title: 'OpenAI API key',
    severity: 'critical',
    pattern: new RegExp(
      `${START}(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{48})${END}`,
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
    validate: isJwt,
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
    // user:user@ and a bare number (a port typed twice) are examples, not credentials.
    validate: (s, m) => s !== m[1] && !/^\d{1,5}$/.test(s),
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
