/** Quotes one word for a POSIX shell: safe words stay bare, everything else goes in single quotes. */
export function shellQuoteWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an argv for a POSIX shell, so the remote shell sees exactly these words and expands nothing. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map(shellQuoteWord).join(' ');
}
