import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestDatabase } from '../test-support/db.js';
import { JobStore } from './jobs.js';
import { JobInterruptedError, runJob } from './run-job.js';

describe.each(ENGINES)('persistent jobs on $engine', ({ open }) => {
  let t: TestDatabase;
  let jobs: JobStore;
  beforeAll(async () => {
    t = await open();
    jobs = new JobStore(t.db, 200);
  });
  afterAll(() => t.dispose());

  it('finds the same job again by idempotency key', async () => {
    const a = await jobs.findOrCreate('ingest', 'k1', { dir: '/a' });
    const b = await jobs.findOrCreate('ingest', 'k1', { dir: '/other' });
    expect(b.id).toBe(a.id);
    expect(b.params).toEqual({ dir: '/a' });
  });

  it('lets only one live owner claim a job, and takes over a stale one', async () => {
    const job = await jobs.findOrCreate('x', 'k2', {});
    expect(await jobs.claim(job.id, 'host:1')).not.toBeNull();
    expect(await jobs.claim(job.id, 'host:2')).toBeNull();
    await new Promise((r) => setTimeout(r, 400)); // heartbeat older than staleAfterMs (200 ms)
    const taken = await jobs.claim(job.id, 'host:2');
    expect(taken?.owner).toBe('host:2');
    expect(taken?.attempts).toBe(2);
  });

  it('records progress with an ETA and a checkpoint, then the result', async () => {
    const job = await jobs.findOrCreate('x', 'k3', {});
    const seen: number[] = [];
    const result = await runJob<{ upTo: number }, string>(
      jobs,
      job,
      async (ctx) => {
        for (let i = 1; i <= 4; i++) {
          await new Promise((r) => setTimeout(r, 20));
          await ctx.progress(i, 4, `step ${i}`, { upTo: i });
          if (i === 2) {
            const mid = await jobs.get(job.id);
            expect(mid.state).toBe('running');
            expect(mid.progressDone).toBe(2);
            expect(mid.etaSeconds).toBeGreaterThan(0);
            expect(mid.checkpoint).toEqual({ upTo: 2 });
          }
        }
        return 'done';
      },
      { onProgress: (d) => seen.push(d) },
    );
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3, 4]);
    const end = await jobs.get(job.id);
    expect(end).toMatchObject({ state: 'succeeded', result: 'done', progressDone: 4, progressTotal: 4 });
  });

  it('resumes from the checkpoint after a failure, and marks failures with the message', async () => {
    const job = await jobs.findOrCreate('x', 'k4', {});
    await expect(
      runJob<{ upTo: number }, number>(jobs, job, async (ctx) => {
        await ctx.progress(1, 3, undefined, { upTo: 1 });
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
    expect(await jobs.get(job.id)).toMatchObject({ state: 'failed', error: 'disk on fire' });
    const resumedFrom = await runJob<{ upTo: number }, number>(jobs, job, async (ctx) => ctx.checkpoint?.upTo ?? 0);
    expect(resumedFrom).toBe(1);
  });

  it('releases an interrupted job so the same command resumes it', async () => {
    const job = await jobs.findOrCreate('x', 'k5', {});
    const controller = new AbortController();
    await expect(
      runJob<{ upTo: number }, number>(
        jobs,
        job,
        async (ctx) => {
          await ctx.progress(1, 3, undefined, { upTo: 1 });
          controller.abort();
          return 0;
        },
        { signal: controller.signal },
      ),
    ).rejects.toBeInstanceOf(JobInterruptedError);
    const after = await jobs.get(job.id);
    expect(after.state).toBe('queued');
    expect(after.checkpoint).toEqual({ upTo: 1 });
  });

  it('a succeeded job returns its result without running again', async () => {
    const job = await jobs.findOrCreate('x', 'k6', {});
    await runJob(jobs, job, async () => 42);
    let ran = false;
    const again = await runJob(jobs, job, async () => {
      ran = true;
      return 0;
    });
    expect(again).toBe(42);
    expect(ran).toBe(false);
  });
});

describe('dead owners', () => {
  it('recognises a dead process of this host, not a live one or another host', async () => {
    const { isDeadLocalOwner } = await import('./jobs.js');
    const { hostname } = await import('node:os');
    expect(isDeadLocalOwner(`${hostname()}:999999999`)).toBe(true);
    expect(isDeadLocalOwner(`${hostname()}:${process.ppid}`)).toBe(false);
    expect(isDeadLocalOwner('some-other-host:999999999')).toBe(false);
    expect(isDeadLocalOwner(null)).toBe(false);
  });
});
