/**
 * Byte-order comparison of UTF-8 strings (what `LC_ALL=C sort` does), without encoding them: code point order is
 * UTF-8 byte order, and UTF-16 units differ from it only where a surrogate meets U+E000-U+FFFF.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}
