import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Language = 'node' | 'python' | 'go';

/** What `crabbox init` found in a project folder. */
export interface Project {
  languages: Language[];
  /** npm, pnpm, yarn, bun; uv, poetry, pipenv, pip; go. */
  packageManager: string | null;
  /** The command a run would start with, as argv; null when none was found. */
  testCommand: string[] | null;
  /** JUnit report paths the detected test command can write (suggested, commented out in the config). */
  junit: string[];
  /** Hints for the config comments: variables the tools read, folders worth excluding beyond the built-in list. */
  envSuggestions: string[];
  excludeSuggestions: string[];
}

const has = (root: string, ...names: string[]): boolean => names.some((n) => existsSync(join(root, n)));

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function node(root: string): Partial<Project> | undefined {
  if (!has(root, 'package.json')) return undefined;
  const pkg = readJson(join(root, 'package.json')) ?? {};
  const pm = has(root, 'pnpm-lock.yaml') ? 'pnpm' : has(root, 'yarn.lock') ? 'yarn' : has(root, 'bun.lock', 'bun.lockb') ? 'bun' : 'npm';
  const scripts = (pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {}) as Record<string, unknown>;
  const deps = { ...(pkg.dependencies as object | undefined), ...(pkg.devDependencies as object | undefined) } as Record<string, unknown>;
  // `bun test` is bun's own runner; `bun run test` is the script, like `npm test`.
  const test = typeof scripts.test === 'string' && !/no test specified/.test(scripts.test) ? (pm === 'bun' ? ['bun', 'run', 'test'] : [pm, 'test']) : null;
  const junit = 'jest-junit' in deps ? ['junit.xml'] : 'vitest' in deps ? ['junit.xml'] : [];
  return { packageManager: pm, testCommand: test, junit, envSuggestions: ['CI', 'NODE_ENV'], excludeSuggestions: ['build/', '.eslintcache'] };
}

function python(root: string): Partial<Project> | undefined {
  if (!has(root, 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', 'Pipfile', 'tox.ini', 'pytest.ini')) return undefined;
  const pyproject = readText(join(root, 'pyproject.toml'));
  const pm = has(root, 'uv.lock') ? 'uv' : has(root, 'poetry.lock') || /\[tool\.poetry\]/.test(pyproject) ? 'poetry' : has(root, 'Pipfile') ? 'pipenv' : 'pip';
  const pytest = [pm === 'uv' ? ['uv', 'run'] : pm === 'poetry' ? ['poetry', 'run'] : pm === 'pipenv' ? ['pipenv', 'run'] : ['python3', '-m'], 'pytest'].flat();
  return { packageManager: pm, testCommand: [...pytest, '--junitxml=junit.xml'], junit: ['junit.xml'], envSuggestions: ['CI', 'PYTHONPATH'], excludeSuggestions: ['build/', '*.egg-info/', 'htmlcov/'] };
}

function go(root: string): Partial<Project> | undefined {
  if (!has(root, 'go.mod')) return undefined;
  return { packageManager: 'go', testCommand: ['go', 'test', './...'], junit: [], envSuggestions: ['CI', 'GOFLAGS', 'GOPROXY'], excludeSuggestions: ['bin/'] };
}

/** Detects the project's languages, package manager and test command from the files at its root. */
export function detectProject(root: string): Project {
  const found: [Language, Partial<Project> | undefined][] = [['node', node(root)], ['python', python(root)], ['go', go(root)]];
  const present = found.filter(([, p]) => p !== undefined) as [Language, Partial<Project>][];
  // The first language with a test command decides the command; every language adds its hints.
  const primary = present.find(([, p]) => p.testCommand) ?? present[0];
  const unique = (xs: string[]): string[] => [...new Set(xs)];
  return {
    languages: present.map(([l]) => l),
    packageManager: primary?.[1].packageManager ?? null,
    testCommand: primary?.[1].testCommand ?? null,
    junit: primary?.[1].junit ?? [],
    envSuggestions: unique(['CI', ...present.flatMap(([, p]) => p.envSuggestions ?? [])]),
    excludeSuggestions: unique(present.flatMap(([, p]) => p.excludeSuggestions ?? [])),
  };
}
