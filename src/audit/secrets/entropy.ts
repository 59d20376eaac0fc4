/**
 * Shannon entropy in bits per character: how unpredictable a string's characters are. Random
 * base64 scores ~5-6, hex ~3.7-4, English words and identifiers ~2.5-3.3. It separates a pasted
 * credential from `password = getPassword` without knowing the credential's shape.
 *
 * Note the ceiling: a string of n characters scores at most log2(n) (3.0 for 8 characters), so a
 * threshold of 3.5 needs at least 12 characters.
 */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...s].length;
  let h = 0;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}
