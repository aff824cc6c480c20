#!/usr/bin/env node
// Entry point of the `pcrs` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run automatically by `npm start` and `npm test`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('pcrs: the program is not built yet. Run `npm run build` (or `npm start`) in the project folder first.');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
