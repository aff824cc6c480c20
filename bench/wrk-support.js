/* global setTimeout, fetch */
// Shared by the benches that load `pcrs serve` with wrk (access, usage): wrk (Debian) on loopback,
// keep-alive, the server pinned to CPU 0 and wrk to CPU 1 so that every run gets the same cores.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const twoCores = cpus().length >= 2;
/** [command, args] running `cmd` on one core (taskset), or as it is on a one-core machine. */
export const pinned = (core, cmd, args) => (twoCores ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

/** Exits 69 (EX_UNAVAILABLE) naming the Debian package when a tool is missing. */
export function requireTool(bench, cmd, pkg) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`${bench} bench needs ${cmd}: apt-get install ${pkg}`);
    process.exit(69);
  }
}

/** Waits until the URL answers (anything below 500), 30 s at most. */
export async function waitFor(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

/** A wrk Lua script (written under `dir`) cycling over `paths` (each with `suffix`), with `headers`; it counts non-200 answers. */
export function wrkScript(dir, name, paths, suffix = '', headers = {}) {
  const file = path.join(dir, `${name}.lua`);
  const lines = [
    'local paths = {',
    ...paths.map((p) => `  ${JSON.stringify(p + suffix)},`),
    '}',
    'local i = 0',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    'request = function()',
    '  i = i + 1',
    '  return wrk.format("GET", paths[(i % #paths) + 1])',
    'end',
    // non-2xx answers would flatter a run: count them
    'local bad = 0',
    'response = function(status) if status ~= 200 then bad = bad + 1 end end',
    'done = function() io.write(string.format("non200 %d\\n", bad)) end',
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Runs wrk (one thread, pinned to CPU 1) and reads its figures. */
export function runWrk(base, lua, { seconds, connections }) {
  const [cmd, args] = pinned(1, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', lua, base]);
  const out = execFileSync(cmd, args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /\s99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?';
  const p50 = /\s50%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?';
  const bad = Number(/non200 (\d+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  // wrk's own count of socket errors
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? 'none';
  return { rps, p50, p99, bad, errors, requests };
}

export const wrkLine = (name, r) => `${name.padEnd(26)} ${r.rps.toFixed(0).padStart(7)} req/s, p50 ${r.p50}, p99 ${r.p99}, non-200 ${r.bad}, socket errors ${r.errors}`;

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
