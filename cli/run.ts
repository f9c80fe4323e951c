// The executable entry: `hls-gate` (bin/hls-gate.js runs the compiled copy) and `npm run fetch-segments`.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
