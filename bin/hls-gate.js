#!/usr/bin/env node
// The CLI, compiled (dist/, made by `npm run build`, which `npm test` and `npm pack` run): no TypeScript at run time.
await import('../dist/cli/run.js');
