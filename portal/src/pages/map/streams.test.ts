import { describe, expect, it } from 'vitest';
import type { DatasetAccess } from '../../app/api.js';
import { layerStreams, layerVisibility, looksLikeKey, withKey } from './streams.js';

const DATASETS: DatasetAccess[] = [
  {
    id: 'ortho',
    kind: 'ortho',
    title: 'Orthophotographie',
    visibility: 'public',
    versions: [
      { name: '2025', status: 'published', visibility: null, effectiveVisibility: 'public' },
      { name: 'maj-2026', status: 'published', visibility: 'restricted', effectiveVisibility: 'restricted' },
    ],
  },
  { id: 'vector', kind: 'vector', title: 'PCRS vecteur', visibility: 'restricted', versions: [] },
];
const KEY = `pcrs_ABCDEFGHIJKL_${'a'.repeat(43)}`;

describe('stream addresses', () => {
  it('a layer is restricted as its dataset or its version says (effective visibility)', () => {
    expect(layerVisibility('PCRS.ORTHO', DATASETS)).toBe('public');
    expect(layerVisibility('PCRS.ORTHO.2025', DATASETS)).toBe('public');
    expect(layerVisibility('PCRS.ORTHO.maj-2026', DATASETS)).toBe('restricted');
    expect(layerVisibility('vector', DATASETS)).toBe('restricted');
    // without the access API, everything is open data
    expect(layerVisibility('PCRS.ORTHO.maj-2026', null)).toBe('public');
  });

  it('adds the key to restricted layers only, after ? or &', () => {
    const s = layerStreams('https://pcrs.example', ['PCRS.ORTHO', 'PCRS.ORTHO.maj-2026'], true, DATASETS, KEY);
    const byLayer = Object.fromEntries(s.map((e) => [e.layer, e]));
    expect(byLayer['PCRS.ORTHO']!.links.every((l) => !l.url.includes('apikey'))).toBe(true);
    expect(byLayer['PCRS.ORTHO.maj-2026']!.links.map((l) => l.url)).toEqual([
      `https://pcrs.example/wmts/1.0.0/WMTSCapabilities.xml?apikey=${KEY}`,
      `https://pcrs.example/wms?apikey=${KEY}`,
      `https://pcrs.example/tiles/PCRS.ORTHO.maj-2026/WebMercatorQuad/{z}/{x}/{y}.jpeg?apikey=${KEY}`,
    ]);
    expect(byLayer['vector']!.links.every((l) => l.url.endsWith(`apikey=${KEY}`))).toBe(true);
    expect(s.some((e) => e.needsKey)).toBe(false);
    expect(withKey('https://x/wms?SERVICE=WMS', 'k+1')).toBe('https://x/wms?SERVICE=WMS&apikey=k%2B1');
  });

  it('without a key, restricted layers say they need one and carry none', () => {
    const s = layerStreams('https://pcrs.example', ['PCRS.ORTHO.maj-2026'], false, DATASETS, null);
    expect(s).toHaveLength(1);
    expect(s[0]!.needsKey).toBe(true);
    expect(s[0]!.links.some((l) => l.url.includes('apikey'))).toBe(false);
  });

  it('recognises the key format', () => {
    expect(looksLikeKey(KEY)).toBe(true);
    expect(looksLikeKey(`  ${KEY} `)).toBe(true);
    expect(looksLikeKey('pcrs_short_x')).toBe(false);
  });
});
