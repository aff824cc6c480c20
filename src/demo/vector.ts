import { writeFile } from 'node:fs/promises';
import type { Bbox } from '../grid/bbox.js';
import { arbre, facade, limiteVoirie, pcrsDocument } from '../vector/gml/synthetic.js';
import type { Pt } from './geometry.js';
import type { SyntheticScene } from './synthetic-scene.js';

/**
 * The demo's vector PCRS, drawn from the same synthetic scene as the demo orthophoto so that it
 * lies on it: kerb lines of the streets (LimiteVoiriePCRS, both sides of each street), building
 * outlines (FacadePCRS) and trees (ArbrePCRS). CNIG GML v2.0, Lambert-93 with a constant Z
 * (the scene is flat), imported by the normal `pcrs gml import` path.
 */
export async function writeDemoGml(scene: SyntheticScene, bbox: Bbox, file: string): Promise<{ features: number }> {
  const layers = scene.query(bbox);
  const inside = ([x, y]: Pt) => x >= bbox[0] && x <= bbox[2] && y >= bbox[1] && y <= bbox[3];
  const z = 122;
  const posList = (pts: readonly Pt[]) => pts.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)} ${z}`).join(' ');
  const features: string[] = [];
  let n = 0;
  const id = (kind: string) => `demo-${kind}-${++n}`;

  // Kerbs: each street is a centreline stroked at the kerb-to-kerb width.
  for (const p of layers.roadCurb) {
    if (p.t !== 'line' || p.pts.length < 2 || !p.pts.every(inside)) continue;
    for (const side of [1, -1]) {
      const offset = offsetLine(p.pts, (side * p.width) / 2);
      if (offset) features.push(limiteVoirie({ gmlId: id('lv'), posList: posList(offset) }));
    }
  }
  // Buildings: their footprints (carried by the first roof face of each building).
  for (const p of layers.roof) {
    if (p.t !== 'poly' || !p.footprint || p.footprint.length < 3 || !p.footprint.every(inside)) continue;
    features.push(facade({ gmlId: id('fa'), posList: posList([...p.footprint, p.footprint[0] as Pt]) }));
  }
  // Trees: crown centres.
  for (const p of layers.canopy) {
    if (p.t !== 'circle' || !inside(p.c)) continue;
    features.push(arbre({ gmlId: id('ar'), pos: `${p.c[0].toFixed(2)} ${p.c[1].toFixed(2)} ${z}` }));
  }
  await writeFile(file, pcrsDocument(features));
  return { features: features.length };
}

/** A polyline shifted sideways by `d` metres (left of the direction of travel when positive); null when degenerate. */
export function offsetLine(pts: readonly Pt[], d: number): Pt[] | null {
  const out: Pt[] = [];
  for (let i = 0; i < pts.length; i++) {
    const prev = pts[Math.max(0, i - 1)] as Pt;
    const next = pts[Math.min(pts.length - 1, i + 1)] as Pt;
    const dx = next[0] - prev[0];
    const dy = next[1] - prev[1];
    const len = Math.hypot(dx, dy);
    if (!(len > 1e-6)) return null;
    const [x, y] = pts[i] as Pt;
    out.push([x - (dy / len) * d, y + (dx / len) * d]);
  }
  return out;
}
