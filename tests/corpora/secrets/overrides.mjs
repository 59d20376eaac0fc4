/**
 * Record id -> [expected rule ids, why this project's label differs from the source's verdict].
 * Ids are the first 12 hex digits of SHA-256 over the record's text (build.mjs).
 */
const DOC_USER_PASS =
  'user:pass (or username:password) at a documentation host: an example, not a credential';
const OPENAI_NOT_ADMIN =
  "an OpenAI key: trufflehog's admin-key detector rightly skips it, this project has one OpenAI rule";
const CREDENTIAL_NAME = 'a random value assigned to a credential name: a hard-coded secret (generic rule)';
export const LABEL_OVERRIDES = {
  b898c16a79d9: [[], "AWS's documented example secret key (wJalrXUtnFEMI/K7MDENG/...) with its tail changed"],
  '7548f84a8a9d': [
    ['generic-secret'],
    `${CREDENTIAL_NAME}; not AWS-shaped, so secretlint's AWS rule passes it`,
  ],
  '23237b565977': [[], 'TXXXXX/BXXXXX/XXXXXXXXXX: X placeholders'],
  '7a26aca78fc6': [
    [],
    'xoxo- with two digit groups: not a whole Slack token (legacy xoxo/xoxs tokens have three and a hex tail), so a made-up value',
  ],
  '9e4ec49edaab': [
    ['generic-secret'],
    'a literal password on a command line (--password=...): the connection-string rule has no URL to see',
  ],
  '0b9a21879ec5': [[], 'one character repeated after the prefix: a placeholder'],
  '1408dc5b3c5f': [[], 'one character repeated after the prefix: a placeholder'],
  b41450b82f02: [[], DOC_USER_PASS],
  f6fae7f4f140: [[], DOC_USER_PASS],
  '7bb908e70164': [[], DOC_USER_PASS],
  '5049d6eefbe5': [[], DOC_USER_PASS],
  '55ddf4fe1a73': [[], DOC_USER_PASS],
  '2ffd9e8eed8e': [[], DOC_USER_PASS],
  '2d3332f5f3a0': [
    ['basic-auth-url'],
    'a password in a URL (secretlint reports the line; its expected output lists it under another line)',
  ],
  e988c273325b: [
    ['basic-auth-url'],
    'a password in a URL (secretlint reports the line; its expected output lists it under another line)',
  ],
  '379cb9fdc9ef': [
    ['anthropic-api-key'],
    'an Anthropic admin key: one rule here covers api03 and admin01 keys, gitleaks has two',
  ],
  b49788bb9d72: [
    [],
    'sk-ant-api04-: no such key version (Anthropic issues api03 and admin01 keys; secretlint accepts any two digits)',
  ],
  '5df18e6dbe43': [
    [],
    'twelve 1s in a row inside the token: a made-up example (gitleaks lists it as a true positive of its pattern)',
  ],
  '0902dfd07007': [[], 'the header does not decode to JSON: not a JWT'],
  '898fe98c2bc6': [[], 'the header does not decode to JSON: not a JWT'],
  '2d9c6606212a': [[], 'an unsigned token (alg none, empty signature) holds no secret'],
  '0acb883c40f8': [[], 'an unsigned token (alg none, empty signature) holds no secret'],
  '7e8c0d25f1b7': [
    ['generic-secret'],
    `${CREDENTIAL_NAME}: many API keys are 32 hex digits (gitleaks skips this line as minified JS)`,
  ],
  a31a3b8ad94c: [['generic-secret'], `${CREDENTIAL_NAME}: an AWS secret key next to secret:`],
  a67fdca40489: [['generic-secret'], `${CREDENTIAL_NAME}: an AWS secret key next to secret:`],
  f7077084dd5e: [
    ['generic-secret'],
    `${CREDENTIAL_NAME}: an AWS secret key behind a few characters of noise`,
  ],
  '713eb6a533d8': [['generic-secret'], `${CREDENTIAL_NAME}: an AWS secret key next to secret:`],
  a7d61ace689d: [['gitlab-pat'], "trufflehog's valid pattern (its wanted value is built at run time)"],
  b116514c2a90: [
    ['gitlab-pat'],
    "trufflehog's valid pattern, routable token format (its wanted value is built at run time)",
  ],
  ea449ca4a6e6: [[], 'TAGGINGEXAMPLE in the webhook path: a documentation example'],
  '5e41719b23d7': [['openai-api-key'], OPENAI_NOT_ADMIN],
  e44c906c6a62: [['openai-api-key'], OPENAI_NOT_ADMIN],
  '26cb862cfb50': [['openai-api-key'], OPENAI_NOT_ADMIN],
  '12666bb23d94': [['openai-api-key'], OPENAI_NOT_ADMIN],
  ccf9b6b0ea9b: [['openai-api-key'], OPENAI_NOT_ADMIN],
  '466728e1d1dc': [['openai-api-key'], 'an OpenAI admin key (sk-admin-...T3BlbkFJ...)'],
  '25ca84b8d0f4': [['openai-api-key'], 'an OpenAI admin key (sk-admin-...T3BlbkFJ...)'],
  '495e6f2423e7': [
    [],
    "the 'user' is a host name and the 'password' 1234 a port: host:port@, not credentials",
  ],
};
