/**
 * Values that look like credentials but are not: templates, references to the environment,
 * documentation examples and test values, so a `ghp_xxxxxxxx...` in a README or
 * `AKIA...EXAMPLE` from AWS's docs is not reported.
 */

/** Whole values that are never a real secret (compared lower-cased). */
const STOP_VALUES = new Set([
  'password',
  'passwd',
  'pass',
  'pwd',
  'secret',
  'token',
  'apikey',
  'api_key',
  'key',
  'user',
  'username',
  'admin',
  'root',
  'anonymous',
  'guest',
  'anoncvs',
  'pserver',
  'none',
  'null',
  'nil',
  'undefined',
  'true',
  'false',
  'empty',
  'string',
  'required',
  'optional',
  'hidden',
  'masked',
]);

/**
 * Substrings that mark a template or an example (lower-cased). Long or unusual enough that a
 * random token contains one by chance about once in 10^5.
 */
const EXAMPLE_MARKERS = [
  'changeme',
  'change_me',
  'change-me',
  'changeit',
  'example',
  'placeholder',
  'dummy',
  'sample',
  'redacted',
  'xxxx',
  '****',
  '....',
  '####',
  'your_',
  'your-',
  'replace_me',
  'replaceme',
  'replace-me',
  'replace_with',
  'replace-with',
  'insert_',
  'insert-',
  'notreal',
  'not_real',
  'not-a-real',
  'lorem',
];

/**
 * Short words that mark a test value when a person chose it (a password), but turn up by chance
 * in about 1 of 200 random 36-character tokens ("...Todo...", "...tESt..."): not applied to
 * tokens with a vendor prefix.
 */
const TEST_MARKERS = [
  'yourpass',
  'yoursecret',
  'yourtoken',
  'yourkey',
  'mypassword',
  'fixme',
  'todo',
  'fake',
  'mock',
  'test',
  'foobar',
  '123456',
  'abcdef',
  'qwerty',
];

/**
 * A reference to a value kept elsewhere: `${VAR}`, `$VAR`, `$(cmd)`, `{{ var }}`, `%(var)s`,
 * `%VAR%`, `<your key>`, `#{var}`, `@VAR@`, `__VAR__`, `{VAR}`, sops `ENC[...]`, Ansible `!vault`,
 * and Jenkins' encrypted `{AQAAABAAA...}` values.
 */
const REFERENCE =
  /\$\{|^\$[A-Za-z_]\w*$|^\$\(|\{\{|\}\}|%\([\w.-]+\)[sd]|^%[\w.-]+%$|^<[^>]*>$|<[\w\s.-]+>|^#\{|^@[\w.-]+@$|^__[\w.-]+__$|^\{[A-Za-z_][\w-]*\}$|^ENC\[|^!vault|^vault:|^\{AQAAABAAA/i;

export function isReference(value: string): boolean {
  return REFERENCE.test(value);
}

/** Words people type into a made-up token; see isExampleToken for when they count. */
const TOKEN_TEST_WORDS = /test|fake|mock|dummy|sample|example|fixme|todo/g;

/**
 * A documentation example or template: for vendor-prefixed tokens (ghp_xxxx..., AKIA...EXAMPLE,
 * AKIATESTTESTTESTTEST). A test word counts when it is doubled (TESTTEST), opens a part of the
 * token (sk_live_FAKE...), or test words make up half of it; one inside the random part does not:
 * it turns up by chance in random tokens, and fixtures mark real formats with one ("...12fake...").
 */
export function isExampleToken(value: string): boolean {
  const v = value.toLowerCase();
  if (isReference(value)) return true;
  // One character repeated after a prefix (ghp_000000...).
  if (/(.)\1{11}/.test(v)) return true;
  if (EXAMPLE_MARKERS.some((s) => v.includes(s))) return true;
  if (/(test|fake|mock|dummy)\1/.test(v)) return true;
  // A test word opening the random part: sk_live_FAKE..., xoxb-1-2-test...
  if (/[_-](?:test|fake|mock|dummy|sample)/.test(v.slice(2))) return true;
  let marked = 0;
  for (const m of v.matchAll(TOKEN_TEST_WORDS)) marked += m[0].length;
  return marked * 2 >= v.replace(/^[a-z]{2,6}[_-]/, '').length;
}

/** A placeholder or test value where a person chose the value (passwords, generic assignments). */
export function isPlaceholder(value: string): boolean {
  const v = value.toLowerCase();
  if (STOP_VALUES.has(v)) return true;
  // Letters only around a credential word: somepassword, authpassword, MySecret.
  if (/^[a-z]*(?:password|passwd|secret)[a-z]*$/.test(v)) return true;
  // user:password, admin:secret: two stop words joined.
  const pair = /^([a-z]+)[:/]([a-z]+)$/.exec(v);
  if (pair && STOP_VALUES.has(pair[1] as string) && STOP_VALUES.has(pair[2] as string)) return true;
  // One character repeated (aaaaaaaa, 00000000).
  if (/^(.)\1+$/.test(v)) return true;
  return isExampleToken(value) || TEST_MARKERS.some((s) => v.includes(s));
}
