#!/usr/bin/env node
// Benchmarks: `npm run bench [-- name…]`. Each reports ratios against a reference measured in the
// same run (these machines are noisy); see BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.js')).map((f) => f.replace(/\.bench\.js$/, ''));
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
let failed = 0;
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark '${name}'; available: ${all.join(', ')}`);
    process.exit(64);
  }
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, [`${dir}/${name}.bench.js`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
