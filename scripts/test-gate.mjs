// A node:test reporter that lists every skipped or todo test, one per line, and nothing else.
// scripts/test.sh writes its output to a file beside the normal spec output and fails the run when the file is not
// empty: a test that cannot run where it should is a failure, never a silent skip.
export default async function* gate(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip, todo } = event.data;
    if (skip === undefined && todo === undefined) continue;
    const why = skip !== undefined ? `skipped${typeof skip === 'string' ? `: ${skip}` : ''}` : `todo${typeof todo === 'string' ? `: ${todo}` : ''}`;
    yield `${file ?? '?'}: ${name} (${why})\n`;
  }
}
