import { CrabboxError } from '../domain/errors.ts';

/** Ordered machine types per class and provider: the first that launches wins, later ones are capacity fallbacks. */
export type ClassTable = Record<string, Record<string, string[]>>;
/** Config `classes`: per class, per provider, a replacement list (providers not named keep the built-in list). */
export type ClassOverrides = Record<string, Partial<Record<string, string[]>>>;

export const CLASS_NAMES = ['standard', 'fast', 'large', 'beast'] as const;
export const DEFAULT_CLASS = 'standard';

/** Built-in classes. Config `classes` overrides per class and provider. */
export const DEFAULT_CLASSES: ClassTable = {
  standard: {
    hetzner: ['ccx33', 'cpx62', 'cx53'],
    aws: ['c7a.8xlarge', 'c7i.8xlarge', 'm7a.8xlarge', 'm7i.8xlarge', 'c7a.4xlarge'],
  },
  fast: {
    hetzner: ['ccx43', 'cpx62', 'cx53'],
    aws: ['c7a.16xlarge', 'c7i.16xlarge', 'm7a.16xlarge', 'm7i.16xlarge', 'c7a.12xlarge', 'c7a.8xlarge'],
  },
  large: {
    hetzner: ['ccx53', 'ccx43', 'cpx62', 'cx53'],
    aws: ['c7a.24xlarge', 'c7i.24xlarge', 'm7a.24xlarge', 'm7i.24xlarge', 'r7a.24xlarge', 'c7a.16xlarge', 'c7a.12xlarge'],
  },
  beast: {
    hetzner: ['ccx63', 'ccx53', 'ccx43', 'cpx62', 'cx53'],
    aws: ['c7a.48xlarge', 'c7i.48xlarge', 'm7a.48xlarge', 'm7i.48xlarge', 'r7a.48xlarge', 'c7a.32xlarge', 'c7a.24xlarge'],
  },
};

/** The built-in table with config overrides laid over it (an override replaces that class's list for that provider). */
export function mergeClasses(overrides: ClassOverrides | undefined): ClassTable {
  const merged: ClassTable = structuredClone(DEFAULT_CLASSES);
  for (const [name, perProvider] of Object.entries(overrides ?? {})) {
    const entry = (merged[name] ??= {});
    for (const [provider, types] of Object.entries(perProvider)) if (types?.length) entry[provider] = [...types];
  }
  return merged;
}

/** The class a lease is of: the one it names, else the default one, unless it asked for an exact type (then none). */
export function classOf(options: { class?: string | undefined; type?: string | undefined }): string | undefined {
  return options.type ? options.class : (options.class ?? DEFAULT_CLASS);
}

export interface TypeChoice {
  /** Candidates in order; the machine records whichever launched. */
  types: string[];
  /** The class the candidates came from, when one was used. */
  class?: string | undefined;
}

/**
 * Turns `--class`/`--type` into an ordered candidate list for one provider.
 * An explicit type is tried alone (the user asked for exactly that); a class gives its whole fallback list.
 */
export function chooseTypes(options: { provider: string; class?: string | undefined; type?: string | undefined; classes?: ClassOverrides | undefined }): TypeChoice {
  if (options.type) return { types: [options.type], class: classOf(options) };
  const table = mergeClasses(options.classes);
  const name = classOf(options) ?? DEFAULT_CLASS;
  const entry = table[name];
  if (!entry) {
    throw new CrabboxError('bad_request', `unknown machine class ${JSON.stringify(name)} (known: ${Object.keys(table).sort().join(', ')})`, {
      hint: 'use --type for an exact machine type, or add the class under `classes` in your config',
    });
  }
  const types = entry[options.provider];
  if (!types || types.length === 0) {
    throw new CrabboxError('bad_request', `machine class ${JSON.stringify(name)} has no types for provider ${options.provider}`, {
      hint: `add classes.${name}.${options.provider} to your config`,
    });
  }
  return { types: [...types], class: name };
}
