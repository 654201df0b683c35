/**
 * `import()` that survives TypeScript's CommonJS output: tsc rewrites a literal `import(x)`
 * into `require(x)`, which cannot load an ESM-only package (@flexprice/sdk). A Function body is
 * not rewritten, so Node (and Jest with --experimental-vm-modules) loads the package as ESM.
 */
export const importEsm = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;
