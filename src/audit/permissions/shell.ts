/**
 * Quotes a path for a POSIX shell: single quotes, with each embedded `'` written as `'\''`.
 * Nothing inside single quotes is special, so file names with spaces, `$`, backticks or
 * newlines cannot turn a recommended `chmod` into something else.
 */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
