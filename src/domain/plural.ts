/**
 * `1 lease`, `2 leases`, `0 leases`. The plural is the singular plus `s` unless given.
 * @example plural(1, 'pattern') === '1 pattern'
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
