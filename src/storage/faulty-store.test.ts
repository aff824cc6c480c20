import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../util/errors.js';
import { FaultyStore, InjectedFaultError } from './test-support/faulty-store.js';
import { LocalObjectStore } from './local-store.js';
import { collect, readAll, sha256Hex } from './test-support/object-store.contract.js';
import type { ObjectStore } from './object-store.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

let inner: LocalObjectStore;
beforeEach(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pcrs-faulty-'));
  dirs.push(dir);
  inner = new LocalObjectStore(dir);
});

describe('FaultyStore', () => {
  it('counts every operation when ops is not given', async () => {
    const s = new FaultyStore(inner, { failOnCall: 3 });
    await s.put('a', Buffer.from('a')); // 1
    await s.head('a'); // 2
    const err = await s.get('a').catch((e: unknown) => e); // 3
    expect(err).toBeInstanceOf(InjectedFaultError);
    expect(err).toMatchObject({ op: 'get', call: 3, message: 'Injected fault: get (matching call #3)' });
    expect(await readAll(await s.get('a'))).toEqual(Buffer.from('a')); // 4
    expect(s.calls).toBe(4);
    expect(s.faults).toBe(1);
  });

  it('fails several calls in a row with times, or every call from N on with Infinity (an outage)', async () => {
    const s = new FaultyStore(inner, { failOnCall: 2, times: 2, ops: ['head'] });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await s.head('x').then(() => 'ok', () => 'fail'));
    expect(outcomes).toEqual(['ok', 'fail', 'fail', 'ok']);
    s.reset({ failOnCall: 1, times: Infinity, ops: ['delete'] });
    for (let i = 0; i < 5; i++) await expect(s.delete('x')).rejects.toBeInstanceOf(InjectedFaultError);
    expect(s.faults).toBe(5);
  });

  it('throws the given error, or one made by a factory', async () => {
    const diskFull = new UserError('storage-disk-full', 'No space left');
    const s = new FaultyStore(inner, { failOnCall: 1, ops: ['put'], error: diskFull });
    await expect(s.put('a', Buffer.from('a'))).rejects.toBe(diskFull);
    s.reset({ failOnCall: 1, ops: ['copy'], error: (op, call) => new Error(`${op}#${call}`) });
    await expect(s.copy('a', 'b')).rejects.toThrow('copy#1');
  });

  it('mid-stream get: the stream fails after the given number of bytes', async () => {
    const data = randomBytes(300_000);
    await inner.put('x', data);
    const s = new FaultyStore(inner, { failOnCall: 1, ops: ['get'], mode: 'mid-stream', after: 100_000 });
    const stream = await s.get('x');
    let got = 0;
    await expect(
      (async () => {
        for await (const c of stream) got += (c as Buffer).length;
      })(),
    ).rejects.toBeInstanceOf(InjectedFaultError);
    expect(got).toBe(100_000);
  });

  it('mid-stream put of a file source fails halfway and stores nothing', async () => {
    const src = join(dirs[dirs.length - 1]!, 'source.bin');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(src, randomBytes(2_000_000));
    const s = new FaultyStore(inner, { failOnCall: 1, ops: ['put'], mode: 'mid-stream' });
    await expect(s.put('dst', { file: src })).rejects.toBeInstanceOf(InjectedFaultError);
    expect(await inner.head('dst')).toBeNull();
  });

  it('list: fails before, after all entries, or after some entries', async () => {
    for (const k of ['a', 'b', 'c']) await inner.put(k, Buffer.from(k));
    const before = new FaultyStore(inner, { failOnCall: 1, ops: ['list'] });
    await expect(collect(before.list(''))).rejects.toBeInstanceOf(InjectedFaultError);
    const seen: string[] = [];
    const mid = new FaultyStore(inner, { failOnCall: 1, ops: ['list'], mode: 'mid-stream', after: 2 });
    await expect(
      (async () => {
        for await (const e of mid.list('')) seen.push(e.key);
      })(),
    ).rejects.toBeInstanceOf(InjectedFaultError);
    expect(seen).toEqual(['a', 'b']);
    const after = new FaultyStore(inner, { failOnCall: 1, ops: ['list'], mode: 'after' });
    seen.length = 0;
    await expect(
      (async () => {
        for await (const e of after.list('')) seen.push(e.key);
      })(),
    ).rejects.toBeInstanceOf(InjectedFaultError);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it("'after' delete: the object is gone although the caller saw an error", async () => {
    await inner.put('a', Buffer.from('a'));
    const s = new FaultyStore(inner, { failOnCall: 1, ops: ['delete'], mode: 'after' });
    await expect(s.delete('a')).rejects.toBeInstanceOf(InjectedFaultError);
    expect(await inner.head('a')).toBeNull();
  });

  it('corrupt mode flips exactly one bit', async () => {
    const data = randomBytes(1000);
    await inner.put('x', data);
    const s = new FaultyStore(inner, { failOnCall: 1, ops: ['getRange'], mode: 'corrupt' });
    const got = await s.getRange('x', 0, 1000);
    let bits = 0;
    for (let i = 0; i < data.length; i++) bits += (got[i]! ^ data[i]!).toString(2).replaceAll('0', '').length;
    expect(bits).toBe(1);
    expect(sha256Hex(await s.getRange('x', 0, 1000))).toBe(sha256Hex(data));
  });

  it('validates its options and mirrors presignedGetUrl only when the inner store has one', async () => {
    expect(() => new FaultyStore(inner, { failOnCall: 0 })).toThrow(RangeError);
    expect(() => new FaultyStore(inner, { failOnCall: 1, mode: 'corrupt' })).toThrow(/corrupt/);
    expect(() => new FaultyStore(inner, { failOnCall: 1, mode: 'corrupt', ops: ['put'] })).toThrow(/corrupt/);
    expect(new FaultyStore(inner, { failOnCall: 1 }).presignedGetUrl).toBeUndefined();
    const withUrls: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, { presignedGetUrl: async (key: string) => `https://x/${key}` });
    const s = new FaultyStore(withUrls, { failOnCall: 2, ops: ['presignedGetUrl'] });
    expect(await s.presignedGetUrl!('k', 60)).toBe('https://x/k');
    await expect(s.presignedGetUrl!('k', 60)).rejects.toBeInstanceOf(InjectedFaultError);
    expect(s.describe()).toContain(inner.describe());
  });

  it('mirrors removeStaleTemporaries and requestRestore as fault points, never localPath or stagingDir', async () => {
    const s = new FaultyStore(inner, { failOnCall: 2, ops: ['removeStaleTemporaries'] });
    expect(await s.removeStaleTemporaries!()).toBe(0);
    await expect(s.removeStaleTemporaries!()).rejects.toBeInstanceOf(InjectedFaultError);
    // Paths would let callers read and rename around the injected faults.
    const asStore: ObjectStore = s;
    expect(asStore.localPath).toBeUndefined();
    expect(asStore.stagingDir).toBeUndefined();
    expect(s.requestRestore).toBeUndefined();
    const archive: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, { requestRestore: async () => 'started' as const });
    const r = new FaultyStore(archive, { failOnCall: 1, ops: ['requestRestore'], mode: 'after' });
    await expect(r.requestRestore!('k', 1)).rejects.toBeInstanceOf(InjectedFaultError);
    expect(await r.requestRestore!('k', 1)).toBe('started');
  });
});
