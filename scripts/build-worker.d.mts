// Types for build-worker.mjs (plain JavaScript, run by node directly), which the TypeScript tests and benchmarks
// import: without them its export is `any` to the type checker.
/** Bundles server/worker/index.ts for workerd into `outfile` (default dist/worker/index.js); resolves to its path. */
export function buildWorker(outfile?: string): Promise<string>;
