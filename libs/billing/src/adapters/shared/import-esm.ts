/**
 * `import()` that survives TypeScript's CommonJS output: tsc rewrites a literal `import(x)`
 * into `require(x)`, which cannot load an ESM-only package (@flexprice/sdk). A Function body is
 * not rewritten, so Node (and Jest with --experimental-vm-modules) loads the package as ESM.
 * The body differs per evaluation of this file: V8 caches a compiled Function by its source, and
 * a cached one keeps the dynamic-import host of the context that first compiled it (under Jest,
 * an earlier test file's environment, torn down: "import a file after the Jest environment has
 * been torn down").
 */
export const importEsm = new Function('specifier', `return import(specifier); // ${Date.now()}:${Math.random()}`) as <T>(
  specifier: string,
) => Promise<T>;
