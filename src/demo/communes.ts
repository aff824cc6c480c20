import type { AppContext } from '../context/app-context.js';
import { loadReference } from '../communes/import.js';
import { CommuneStore } from '../communes/store.js';
import { DEMO_DELIVERY } from './delivery.js';
import type { Bbox } from '../grid/bbox.js';

/**
 * Synthetic commune outlines for the demo area: rectangles, not the real boundaries (those come
 * from ADMIN EXPRESS with `pcrs communes import`), so that go-to-commune and extracts by commune
 * work on a fresh install. For the Lot, Cahors holds the demo area and six real neighbours sit
 * around it; elsewhere the département's most populated commune holds it. Never written over
 * outlines an operator imported.
 */

const SOURCE = 'synthetic-demo';

/** Lot: INSEE code → rectangle offsets (km) from the demo area's lower-left corner. */
const LOT_LAYOUT: ReadonlyArray<{ insee: string; km: readonly [number, number, number, number] }> = [
  { insee: '46042', km: [-1, -1, 3, 2] }, // Cahors: the demo area (2 km × 1 km) and 1 km around
  { insee: '46224', km: [-4, -1, -1, 2] }, // Pradines, west
  { insee: '46007', km: [3, -1, 6, 2] }, // Arcambal, east
  { insee: '46191', km: [-4, 2, 1, 5] }, // Mercuès, north-west
  { insee: '46322', km: [-4, -4, -1, -1] }, // Trespoux-Rassiels, south-west
  { insee: '46197', km: [-1, -4, 6, -1] }, // Le Montat, south
];

const rectangle = (b: readonly [number, number, number, number]) =>
  JSON.stringify({ type: 'MultiPolygon', coordinates: [[[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]]] });

/** `area`: the demo area (demo.ts `demoArea`). */
export async function ensureDemoCommunes(ctx: AppContext, area: Bbox): Promise<{ message: string; created: boolean }> {
  const store = new CommuneStore(ctx.db);
  const counts = await store.count();
  if (counts.withOutline > 0) return { message: `Commune outlines ready (${counts.withOutline} of ${counts.communes}).`, created: false };
  if (counts.communes === 0) await loadReference(ctx);
  const [x0, y0, x1, y1] = area;
  let layout: Array<{ insee: string; bbox: readonly [number, number, number, number] }>;
  if (ctx.config.territory.code === DEMO_DELIVERY.dep) {
    layout = LOT_LAYOUT.map((l) => ({ insee: l.insee, bbox: [x0 + l.km[0] * 1000, y0 + l.km[1] * 1000, x0 + l.km[2] * 1000, y0 + l.km[3] * 1000] as const }));
  } else {
    const [largest] = (await store.list()).sort((a, b) => (b.population ?? 0) - (a.population ?? 0));
    layout = largest ? [{ insee: largest.insee, bbox: [x0 - 1000, y0 - 1000, x1 + 1000, y1 + 1000] }] : [];
  }
  let n = 0;
  await ctx.db.transaction(async (tx) => {
    for (const l of layout) if (await store.setOutline(tx, l.insee, rectangle(l.bbox), SOURCE)) n++;
  });
  return { message: `Synthetic outlines for ${n} communes around the demo area (pcrs communes import replaces them with ADMIN EXPRESS).`, created: n > 0 };
}
