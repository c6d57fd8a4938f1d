/** Shows a path in one line: JSON-quoted when it holds anything unusual (newlines, quotes, control bytes). */
export function showPath(path: string): string {
  return /^[A-Za-z0-9._/+@:,=-][A-Za-z0-9._/+@:,= -]*$/.test(path) && !path.endsWith(' ') ? path : JSON.stringify(path);
}
