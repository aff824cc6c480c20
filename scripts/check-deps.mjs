#!/usr/bin/env node
// Every package in package.json must be imported somewhere (or be on the short list below), and
// every package imported must be in package.json. Run by `npm run lint`.
//
// Import specifiers are found with regular expressions — `… from 'x'`, `import 'x'`,
// `import('x')` (also in type positions), `require('x')`, `require.resolve('x/…')`, `vi.mock('x')`,
// `/// <reference types="x" />` — good enough for this codebase (a string that merely looks like
// an import would count as one).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Packages used without being imported, each with the reason. */
const USED_WITHOUT_IMPORT = {
  eslint: 'the `lint` script runs its CLI (eslint.config.js imports only its plugins)',
  typescript: 'tsc, run by the `build` and `typecheck` scripts',
  vite: 'the `build` script runs its CLI to bundle the portal',
  madge: 'the `lint` script runs its CLI: no import cycle under src/',
};

/** Packages imported without being in package.json: installed as dependencies of a declared one. */
const IMPORTED_UNDECLARED = {
  rolldown: "vite's bundler (installed with it); src/vector/gml/validate.memory.test.ts bundles a child process with it",
};

/** Where the code is (dist/ and portal/dist/ are build outputs). */
const DIRS = ['src', 'bench', 'bin', 'scripts', 'portal'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', 'data', 'tmp']);
const CODE = /\.(?:[cm]?[jt]s|tsx)$/;

const NAME = String.raw`['"]([^'"\s,;()]+)['"]`; // a quoted specifier (no blanks: not a sentence that happens to follow 'from')
const SPECIFIER = [
  new RegExp(String.raw`\bfrom\s*${NAME}`, 'g'), // import … from 'x', export … from 'x' (also across lines)
  new RegExp(String.raw`\bimport\s*${NAME}`, 'g'), // import 'x'
  new RegExp(String.raw`\b(?:import|require|require\.resolve|vi\.mock|vi\.importActual)\s*\(\s*${NAME}`, 'g'), // import('x'), require('x')
  new RegExp(String.raw`///\s*<reference\s+types\s*=\s*${NAME}`, 'g'), // /// <reference types="x" />
];

function* codeFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) yield* codeFiles(p);
    } else if (CODE.test(e.name)) yield p;
  }
}

/** 'x/y' → 'x', '@s/x/y' → '@s/x'; null for relative paths, builtins and subpath imports ('#x'). */
function packageOf(specifier) {
  if (/^[./#]/.test(specifier) || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? null : name;
}

const self = fileURLToPath(import.meta.url); // its comments quote specifiers
const files = [
  ...DIRS.flatMap((d) => [...codeFiles(path.join(root, d))]).filter((f) => f !== self),
  ...readdirSync(root).filter((f) => CODE.test(f)).map((f) => path.join(root, f)), // eslint.config.js, vitest.config.ts…
];
const imported = new Map(); // package → first file importing it
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  for (const re of SPECIFIER) {
    for (const m of text.matchAll(re)) {
      const name = packageOf(m[1]);
      if (name && !imported.has(name)) imported.set(name, path.relative(root, file));
    }
  }
}

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];

/** Why `name` is not needed, or null when it is used. */
function unusedBecause(name) {
  if (name in USED_WITHOUT_IMPORT || imported.has(name)) return null;
  if (name === '@types/node') return null; // Node's own modules are imported everywhere
  const m = /^@types\/(.+)$/.exec(name);
  if (!m) return 'imported nowhere';
  const typed = m[1].includes('__') ? `@${m[1].replace('__', '/')}` : m[1];
  if (!imported.has(typed)) return `${typed} is imported nowhere`;
  try {
    const own = JSON.parse(readFileSync(path.join(root, 'node_modules', typed, 'package.json'), 'utf8'));
    // TypeScript takes a package's own types before DefinitelyTyped's
    if (own.types || own.typings || JSON.stringify(own.exports ?? null).includes('"types"')) return `${typed} ships its own types`;
  } catch {
    // not installed: cannot tell
  }
  return null;
}

const unused = declared.map((name) => [name, unusedBecause(name)]).filter(([, why]) => why !== null);
const undeclared = [...imported].filter(([name]) => !declared.includes(name) && !(name in IMPORTED_UNDECLARED));

for (const [name, why] of unused) console.error(`check-deps: ${name} is in package.json but not needed: ${why} (npm uninstall ${name}, or add it to USED_WITHOUT_IMPORT in scripts/check-deps.mjs with the reason).`);
for (const [name, file] of undeclared) console.error(`check-deps: ${name} is imported (${file}) but not in package.json.`);
if (unused.length > 0 || undeclared.length > 0) process.exit(1);
console.log(`check-deps: the ${declared.length} packages of package.json are all used; ${files.length} files read.`);
