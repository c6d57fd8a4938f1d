declare const CRABBOX_BUILD: string | undefined;

/** Unique per bundle build (baked in by the bundler); `source` when running from TypeScript. */
export const buildId: string = typeof CRABBOX_BUILD === 'string' ? CRABBOX_BUILD : 'source';
