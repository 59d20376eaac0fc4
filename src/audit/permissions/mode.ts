/** File mode helpers: octal and symbolic renderings, and the bits the rules look at. */

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
/** Permission and special bits only; the file-type bits of st_mode are dropped. */
export const PERM_MASK = 0o7777;

/** `0644`, or `4755` when special bits are set: the form `chmod` takes and ls -l users read. */
export function octalMode(mode: number): string {
  return (mode & PERM_MASK).toString(8).padStart(4, '0');
}

/**
 * The argument for `chmod`: three digits when no special bit is set (`600`), four otherwise
 * (`1777`). Numeric modes set every bit, so the result is exact for regular files; for
 * directories GNU chmod keeps setuid/setgid unless given, which is what the rules want.
 */
export function chmodArg(mode: number): string {
  const m = mode & PERM_MASK;
  return m > 0o777 ? m.toString(8) : m.toString(8).padStart(3, '0');
}

/** `-rw-r--r--` / `drwxrwxrwt`, as ls -l shows it, for evidence a human reads at a glance. */
export function symbolicMode(mode: number, kind: 'file' | 'directory'): string {
  const m = mode & PERM_MASK;
  const triple = (shift: number, special: number, specialChar: string) => {
    const r = m & (0o4 << shift) ? 'r' : '-';
    const w = m & (0o2 << shift) ? 'w' : '-';
    const xBit = (m & (0o1 << shift)) !== 0;
    const x = m & special ? (xBit ? specialChar : specialChar.toUpperCase()) : xBit ? 'x' : '-';
    return r + w + x;
  };
  return (
    (kind === 'directory' ? 'd' : '-') +
    triple(6, S_ISUID, 's') +
    triple(3, S_ISGID, 's') +
    triple(0, S_ISVTX, 't')
  );
}

export const groupCanAccess = (mode: number): boolean => (mode & 0o060) !== 0;
export const othersCanAccess = (mode: number): boolean => (mode & 0o006) !== 0;
export const worldWritable = (mode: number): boolean => (mode & 0o002) !== 0;
