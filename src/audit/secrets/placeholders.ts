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
 * `%VAR%`, `<your key>`, `#{var}`, `@VAR@`, `__VAR__`, sops `ENC[...]`, Ansible `!vault`.
 */
const REFERENCE =
  /\$\{|^\$[A-Za-z_]\w*$|^\$\(|\{\{|\}\}|%\([\w.-]+\)[sd]|^%[\w.-]+%$|^<[^>]*>$|<[\w\s.-]+>|^#\{|^@[\w.-]+@$|^__[\w.-]+__$|^ENC\[|^!vault|^vault:/i;

export function isReference(value: string): boolean {
  return REFERENCE.test(value);
}

/** A documentation example or template: for vendor-prefixed tokens (ghp_xxxx..., AKIA...EXAMPLE). */
export function isExampleToken(value: string): boolean {
  const v = value.toLowerCase();
  if (isReference(value)) return true;
  // One character repeated after a prefix (ghp_000000...).
  if (/(.)\1{11}/.test(v)) return true;
  return EXAMPLE_MARKERS.some((s) => v.includes(s));
}

/** A placeholder or test value where a person chose the value (passwords, generic assignments). */
export function isPlaceholder(value: string): boolean {
  const v = value.toLowerCase();
  if (STOP_VALUES.has(v)) return true;
  // One character repeated (aaaaaaaa, 00000000).
  if (/^(.)\1+$/.test(v)) return true;
  return isExampleToken(value) || TEST_MARKERS.some((s) => v.includes(s));
}
