import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPglite, freshPostgres, POSTGRES_URL, type TestDatabase } from '../test-support/db.js';
import { Catalog, publishedVersionsSql } from './catalog.js';

const SHA = (c: string) => c.repeat(64);

describe('catalogue: published versions and asset queries', () => {
  let t: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await freshPglite();
    catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('test');
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('publishedVersions: published only, highest priority first; the SQL fragment selects the same set', async () => {
    const v2019 = await catalog.ensureVersion({ datasetId: 'ortho', name: '2019' });
    const draft = await catalog.ensureVersion({ datasetId: 'ortho', name: 'draft' });
    const v2022 = await catalog.ensureVersion({ datasetId: 'ortho', name: '2022' });
    const vector = await catalog.ensureVersion({ datasetId: 'vector', name: '2022' });
    for (const v of [v2019, v2022, vector]) await catalog.setVersionStatus(v.id, 'published');
    const published = await catalog.publishedVersions('ortho');
    expect(published.map((v) => v.name)).toEqual(['2022', '2019']);
    expect(published.map((v) => v.id)).not.toContain(draft.id);
    const { rows } = await t.db.query<{ id: number }>(`SELECT id FROM ${publishedVersionsSql('$1')} p ORDER BY priority DESC`, ['ortho']);
    expect(rows.map((r) => Number(r.id))).toEqual(published.map((v) => Number(v.id)));
    expect(await catalog.publishedVersions('raw-at')).toEqual([]);
  });

  it('AssetStore: counts, good copies, datasets by location, metadata and storage details, stored totals', async () => {
    const assets = catalog.assets;
    const a = await assets.addPending({ kind: 'master', datasetId: 'ortho', tier: 'intermediate', location: 'ortho/a.tif', bytes: 10, sha256: SHA('a') });
    await assets.markStored(a.id, 10, SHA('a'));
    const b = await assets.addPending({ kind: 'master', datasetId: 'ortho', tier: 'intermediate', location: 'ortho/b.tif' });
    const c = await assets.addPending({ kind: 'archive-package', datasetId: 'raw-at', tier: 'cold', location: 'raw-at/p.tar', metadata: { payloadFiles: 3 } });
    await assets.markStored(c.id, 5, SHA('c'));
    const gone = await assets.addPending({ kind: 'master', datasetId: 'ortho', tier: 'intermediate', location: 'ortho/gone.tif' });
    await assets.setState(gone.id, 'deleted');

    expect(await assets.count({ tier: 'intermediate', states: ['stored'] })).toBe(1);
    expect(await assets.count({ tier: 'intermediate', kinds: ['master'], states: ['stored', 'pending'] })).toBe(2);
    expect(await assets.count({ kinds: ['pyramid'], states: ['stored'] })).toBe(0);

    expect(await assets.hasStoredCopy('intermediate', 'ortho/a.tif', SHA('a'))).toBe(true);
    expect(await assets.hasStoredCopy('intermediate', 'ortho/a.tif', SHA('b'))).toBe(false);
    expect(await assets.hasStoredCopy('nas', 'ortho/a.tif', SHA('a'))).toBe(false);
    expect(await assets.hasStoredCopy('intermediate', 'ortho/b.tif', SHA('0'))).toBe(false); // pending

    expect(await assets.datasetsByLocation('intermediate')).toEqual(
      new Map([
        ['ortho/a.tif', 'ortho'],
        ['ortho/b.tif', 'ortho'],
      ]),
    );
    expect(await assets.knownLocations('intermediate')).toEqual(new Set(['ortho/a.tif', 'ortho/b.tif']));

    expect(await assets.metadata(c.id)).toEqual({ payloadFiles: 3 });
    expect(await assets.metadata(b.id)).toEqual({});
    await assets.recordStorageDetails(c.id, { storageClass: 'GLACIER', metadata: { verification: 'head' } });
    await assets.recordStorageDetails(c.id, { storageClass: null, metadata: {} });
    expect(await assets.metadata(c.id)).toEqual({ payloadFiles: 3, verification: 'head' });
    expect((await assets.get(c.id))?.storageClass).toBe('GLACIER');

    expect(await assets.storedTotals()).toEqual({ count: 2, bytes: 15 });
    expect(await catalog.summary()).toMatchObject({ datasets: 3, assets: 2, storedBytes: 15 });
  });
});

describe.runIf(POSTGRES_URL)('catalogue on PostgreSQL: priorities under concurrency', () => {
  let t: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await freshPostgres();
    catalog = new Catalog(t.db);
    await catalog.ensureStandardDatasets('test');
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('versions made or raised at the same moment never share a priority (newest wins must have one answer)', async () => {
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => catalog.ensureVersion({ datasetId: 'ortho', name: `v${i}` })));
    expect(new Set(made.map((v) => v.priority)).size).toBe(12);
    // Raised at once (two campaigns or contributions published together): distinct, above all the others.
    const before = Math.max(...made.map((v) => v.priority));
    await Promise.all(made.slice(0, 6).map((v) => t.db.transaction((tx) => catalog.with(tx).raiseVersionToTop(v.id))));
    const after = await Promise.all(made.slice(0, 6).map((v) => catalog.getVersion('ortho', v.name)));
    expect(new Set(after.map((v) => v.priority)).size).toBe(6);
    for (const v of after) expect(v.priority).toBeGreaterThan(before);
  });
});
