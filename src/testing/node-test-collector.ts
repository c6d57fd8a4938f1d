// Stands in for node:test inside workerd (the test Worker's bundle aliases node:test to this file): the store contract
// suites register their tests here, and the test Worker runs them one by one when the Node side asks (one Node `it`
// per contract test, so a failure names the contract test). Only describe/it are supported: the suites use nothing else.

export interface CollectedTest {
  name: string;
  fn: () => unknown;
}

const tests: CollectedTest[] = [];
const path: string[] = [];

export function describe(name: string, fn: () => void): void {
  path.push(name);
  try {
    fn();
  } finally {
    path.pop();
  }
}

export function it(name: string, fn: () => unknown): void {
  tests.push({ name: [...path, name].join(' > '), fn });
}

export const test = it;

export function collected(): readonly CollectedTest[] {
  return tests;
}
