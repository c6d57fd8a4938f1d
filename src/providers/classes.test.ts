import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTypes, mergeClasses, DEFAULT_CLASSES, CLASS_NAMES } from './classes.ts';
import { CrabboxError } from '../domain/errors.ts';

describe('machine classes', () => {
  it('every built-in class has an ordered list for hetzner and aws', () => {
    for (const name of CLASS_NAMES) for (const provider of ['hetzner', 'aws']) assert.ok(DEFAULT_CLASSES[name]![provider]!.length >= 2, `${name}/${provider}`);
  });

  it('a class gives its fallback list; the default class is standard', () => {
    assert.deepEqual(chooseTypes({ provider: 'hetzner', class: 'beast' }), { types: ['ccx63', 'ccx53', 'ccx43', 'cpx62', 'cx53'], class: 'beast' });
    assert.deepEqual(chooseTypes({ provider: 'hetzner' }).types, ['ccx33', 'cpx62', 'cx53']);
  });

  it('an explicit --type is tried alone, even with a class', () => {
    assert.deepEqual(chooseTypes({ provider: 'hetzner', class: 'beast', type: 'cx23' }), { types: ['cx23'], class: 'beast' });
  });

  it('config overrides replace one provider list of a class and can add classes', () => {
    const classes = { fast: { hetzner: ['ccx43'] }, gpu: { aws: ['g5.xlarge'] } };
    assert.deepEqual(chooseTypes({ provider: 'hetzner', class: 'fast', classes }).types, ['ccx43']);
    assert.deepEqual(chooseTypes({ provider: 'aws', class: 'fast', classes }).types, DEFAULT_CLASSES.fast!.aws);
    assert.deepEqual(chooseTypes({ provider: 'aws', class: 'gpu', classes }).types, ['g5.xlarge']);
    assert.equal(mergeClasses(classes).standard!.hetzner!.length, 3, 'built-ins stay');
    assert.deepEqual(DEFAULT_CLASSES.fast!.hetzner, ['ccx43', 'cpx62', 'cx53'], 'defaults are not mutated');
  });

  it('an unknown class or a class without types for the provider is a clear error', () => {
    assert.throws(() => chooseTypes({ provider: 'hetzner', class: 'huge' }), (e: unknown) => e instanceof CrabboxError && e.code === 'bad_request' && /unknown machine class "huge" \(known: beast, fast, large, standard\)/.test(e.message));
    assert.throws(() => chooseTypes({ provider: 'hetzner', class: 'gpu', classes: { gpu: { aws: ['g5.xlarge'] } } }), /has no types for provider hetzner/);
  });
});
