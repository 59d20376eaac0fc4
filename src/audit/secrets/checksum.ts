/**
 * CRC-32 (IEEE 802.3, the zlib one) and base62, for vendor tokens that carry a checksum: a
 * GitHub token's last 6 characters are the base62 CRC-32 of its 30 random characters, so a
 * string of the right shape with a wrong suffix is a made-up example, not a token.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of an ASCII string (token alphabets are ASCII). */
export function crc32(s: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < s.length; i++) crc = (TABLE[(crc ^ s.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` in base62, left-padded with zeros to `width`. */
export function base62(n: number, width: number): string {
  let s = '';
  let v = n;
  while (v > 0) {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s.padStart(width, '0');
}

/** A classic GitHub token (ghp_, gho_, ghu_, ghs_, ghr_ + 36): its checksum suffix matches. */
export function githubChecksumOk(token: string): boolean {
  const body = token.slice(4);
  if (body.length !== 36) return false;
  return base62(crc32(body.slice(0, 30)), 6) === body.slice(30);
}
