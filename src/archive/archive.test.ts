import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultyStore } from '../storage/test-support/faulty-store.js';
import { runVerify } from '../tiers/fixity.js';
import { SETUPS, sha256, tierFixture, type TierFixture } from '../tiers/test-support/tier-fixture.js';
import { archiveDirectory, packageKey } from './archive.js';
import { verifyBagTar } from './bagit.js';
import { listPackages, openPackageDownload, requestRestore } from './restore.js';

function rawDelivery(): { dir: string; files: Record<string, Buffer> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcrs-raw-'));
  const files: Record<string, Buffer> = {
    'images/IMG_0001.tif': randomBytes(300_000),
    'images/IMG_0002.tif': randomBytes(123_457),
    'aero/aerotriangulation.xml': Buffer.from('<AT><camera/></AT>\n'),
  };
  for (const [rel, b] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), b);
  }
  return { dir, files };
}

describe.each(SETUPS)('cold archive on $name (tape mount / S3)', ({ backend, engine }) => {
  let f: TierFixture;
  let raw: ReturnType<typeof rawDelivery>;
  beforeAll(async () => {
    f = await tierFixture(backend, {}, engine);
    raw = rawDelivery();
  }, 60_000);
  afterAll(async () => {
    rmSync(raw.dir, { recursive: true, force: true });
    await f?.dispose();
  });

  it('packs a folder as a BagIt tar in the cold tier, verified by reading it back, registered only then', async () => {
    const r = await archiveDirectory(f.services, { dir: raw.dir, datasetId: 'raw-at', version: '2025' });
    expect(r).toMatchObject({ tier: 'cold', key: packageKey('raw-at', '2025'), payloadFiles: 3, payloadBytes: 300_000 + 123_457 + 19, verification: 'read' });
    const asset = (await f.services.catalog.assets.list({ tier: 'cold', kind: 'archive-package' }))[0]!;
    expect(asset).toMatchObject({ state: 'stored', bytes: r.bytes, sha256: r.sha256, location: 'raw-at/2025/raw-at-2025.bag.tar' });
    const bag = await verifyBagTar(await f.services.tiers.cold.get(r.key));
    expect(bag).toMatchObject({ valid: true, bagName: 'raw-at-2025', payloadFiles: 3 });
    expect(bag.bagInfo['External-Identifier']).toBe('raw-at/2025');
    // again: nothing packed twice
    const again = await archiveDirectory(f.services, { dir: raw.dir, datasetId: 'raw-at', version: '2025' });
    expect(again).toMatchObject({ alreadyArchived: true, assetId: r.assetId, sha256: r.sha256 });
    expect((await runVerify(f.services, { tiers: ['cold'] })).clean).toBe(true);
  }, 60_000);

  it('a readable cold tier restores at once, notifies the requester and streams the package', async () => {
    const pkg = (await listPackages(f.services))[0]!;
    const req = await requestRestore(f.services, { package: pkg.location, days: 3, requester: 'aplc@example.fr' });
    expect(req).toMatchObject({ state: 'available', requester: 'aplc@example.fr', days: 3 });
    expect(req.notifiedAt).not.toBeNull();
    const n = await f.services.db.query<{ recipient: string; kind: string; body: string }>('SELECT recipient, kind, body FROM notifications');
    expect(n.rows).toEqual([{ recipient: 'aplc@example.fr', kind: 'restore-available', body: expect.stringContaining(`/api/archive/packages/${pkg.id}/download`) }]);
    // asking again does not create a second request
    expect((await requestRestore(f.services, { package: pkg.id, days: 3, requester: 'aplc@example.fr' })).id).toBe(req.id);
    const dl = await openPackageDownload(f.services, pkg.id);
    if (dl.kind !== 'stream') throw new Error('expected a stream');
    const chunks: Buffer[] = [];
    for await (const c of dl.stream) chunks.push(c as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(pkg.sha256);
  });

  it('a cold tier failing during the upload leaves nothing registered as stored; the same command then completes', async () => {
    const other = rawDelivery();
    const cold = f.services.tiers.cold;
    f.services.tiers.cold = new FaultyStore(cold, { failOnCall: 1, ops: ['put'], mode: 'mid-stream', after: 100_000 });
    try {
      await expect(archiveDirectory(f.services, { dir: other.dir, datasetId: 'raw-at', version: '2024' })).rejects.toThrow(/Injected fault/);
    } finally {
      f.services.tiers.cold = cold;
    }
    const pending = (await f.services.catalog.assets.list({ tier: 'cold' })).find((a) => a.location === packageKey('raw-at', '2024'));
    expect(pending?.state).toBe('pending');
    expect(await cold.head(packageKey('raw-at', '2024'))).toBeNull();
    const r = await archiveDirectory(f.services, { dir: other.dir, datasetId: 'raw-at', version: '2024' });
    expect(r.verification).toBe('read');
    expect((await f.services.catalog.assets.list({ tier: 'cold', state: 'stored' })).length).toBe(2);
    rmSync(other.dir, { recursive: true, force: true });
  }, 60_000);

  it('refuses a missing folder and an unknown package with clear messages', async () => {
    await expect(archiveDirectory(f.services, { dir: '/nonexistent/raw', version: '2023' })).rejects.toThrow(/does not exist/);
    await expect(requestRestore(f.services, { package: 'raw-at/1999/x.tar', requester: 'x' })).rejects.toThrow(/No archive package/);
    await expect(requestRestore(f.services, { package: 1, requester: 'x', days: 0 })).rejects.toThrow(/between 1 and 365/);
  });
});
