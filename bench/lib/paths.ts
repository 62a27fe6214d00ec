/**
 * Scenario code runs compiled (tsc → bench/results/tmp/build), not through tsx: tsx compiles
 * with esbuild's `keepNames`, which wraps every named closure in a `__name(…)` call — measured
 * at ~20% of the supervisor's time on the submit path, a cost no user of the published JS pays.
 * The same files still run under tsx for debugging, so sibling files are named by the running
 * module's own extension.
 */

/** `name` ("x.ts") next to the module at `base` (its import.meta.url), as .js when compiled. */
export const sibling = (name: string, base: string): URL =>
  new URL(base.endsWith(".js") ? name.replace(/\.ts$/, ".js") : name, base)

/** True when running the tsc output rather than the TypeScript source. */
export const isCompiled = (base: string): boolean => base.endsWith(".js")
