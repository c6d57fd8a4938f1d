import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCrabboxError } from '../domain/errors.ts';
import { ExitCode } from '../domain/exit-codes.ts';
import { matchJUnitFiles, validateJUnitPattern } from './globs.ts';

describe('JUnit report globs', () => {
  const listing = ['junit.xml', 'reports/a.xml', 'reports/deep/b.xml', 'reports/deep/c.txt', 'other/TEST-x.xml', 'x.xml.bak', './lead.xml'];

  it('matches relative to the workdir: * within a folder, ** across folders', () => {
    assert.deepEqual(matchJUnitFiles(listing, ['junit.xml']), ['junit.xml']);
    assert.deepEqual(matchJUnitFiles(listing, ['reports/*.xml']), ['reports/a.xml']);
    assert.deepEqual(matchJUnitFiles(listing, ['reports/**/*.xml']), ['reports/a.xml', 'reports/deep/b.xml']);
    assert.deepEqual(matchJUnitFiles(listing, ['**/TEST-?.xml', './lead.xml']), ['other/TEST-x.xml', './lead.xml']);
    assert.deepEqual(matchJUnitFiles(listing, ['*.xml', 'junit.xml']), ['junit.xml', './lead.xml']);
  });

  it('treats regex characters literally', () => {
    assert.deepEqual(matchJUnitFiles(['a+b(1).xml', 'aab1.xml'], ['a+b(1).xml']), ['a+b(1).xml']);
  });

  it('refuses absolute paths, .., leading dashes and control characters with a one-line usage error', () => {
    for (const bad of ['/etc/passwd', '../x.xml', 'a/../../b.xml', '~/x.xml', '-rf', '', 'a\nb.xml', 'C:\\x.xml']) {
      assert.throws(() => validateJUnitPattern(bad), (e: unknown) => isCrabboxError(e) && e.exitCode === ExitCode.usage && !e.message.includes('\n'), bad);
    }
  });
});
