import type { PcrsValue } from './gml/pcrs-model.js';
import type { StoredFeature } from './store.js';

/**
 * What a version of the vector PCRS changes against the objects it replaces: objects matched by
 * class and identifier (idObjet, else idHabillage, else gml:id), sorted into added, removed and
 * changed (attributes listed, geometry moved or not), with counts per class. Used by the
 * contributions' before/after and by the campaigns' publication.
 */

/** Objects listed per kind of change at most (the counts go on). */
export const MAX_LISTED = 5000;

export interface DiffObject {
  key: string;
  class: string;
  /** GeoJSON in Lambert-93 (EPSG:2154), mm. */
  geometry: unknown;
}

export interface ChangedObject extends DiffObject {
  before: unknown;
  /** Attribute → [before, after] for what differs. */
  attributes: Record<string, [PcrsValue | null, PcrsValue | null]>;
  geometryChanged: boolean;
}

export interface ClassChanges {
  added: number;
  removed: number;
  changed: number;
  unchanged: number;
}

export interface VectorDiff {
  version: string;
  /** The area the contribution replaces (GeoJSON, Lambert-93). */
  area: unknown;
  summary: ClassChanges;
  /** The same counts per class. */
  byClass: Record<string, ClassChanges>;
  added: DiffObject[];
  removed: DiffObject[];
  changed: ChangedObject[];
  truncated: boolean;
}

/** An object's identity across versions: its class and identifier (`LimiteVoiriePCRS:ido_12`). */
export function objectKey(f: Pick<StoredFeature, 'class' | 'idObjet' | 'gmlId' | 'attributes'>): string {
  const habillage = f.attributes['idHabillage'];
  return `${f.class}:${f.idObjet ?? (typeof habillage === 'string' ? habillage : null) ?? f.gmlId ?? ''}`;
}
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The diff of `after` (a version's objects) against `before` (the objects it replaces). */
export function diffFeatures(version: string, after: readonly StoredFeature[], before: readonly StoredFeature[], area: unknown): VectorDiff {
  const old = new Map(before.map((f) => [objectKey(f), f]));
  const diff: VectorDiff = { version, area, summary: { added: 0, removed: 0, changed: 0, unchanged: 0 }, byClass: {}, added: [], removed: [], changed: [], truncated: false };
  const count = (cls: string, kind: keyof ClassChanges) => {
    diff.summary[kind]++;
    const c = (diff.byClass[cls] ??= { added: 0, removed: 0, changed: 0, unchanged: 0 });
    c[kind]++;
  };
  const list = <T>(into: T[], item: T) => (into.length < MAX_LISTED ? into.push(item) : (diff.truncated = true));
  const geometry = (f: StoredFeature) => (f.geometry ? JSON.parse(f.geometry) : null);
  for (const f of after) {
    if (!f.geometry) continue;
    const key = objectKey(f);
    const was = old.get(key);
    old.delete(key);
    if (!was) {
      count(f.class, 'added');
      list(diff.added, { key, class: f.class, geometry: geometry(f) });
      continue;
    }
    const attributes: ChangedObject['attributes'] = {};
    for (const name of new Set([...Object.keys(was.attributes), ...Object.keys(f.attributes)])) {
      if (!same(was.attributes[name], f.attributes[name])) attributes[name] = [was.attributes[name] ?? null, f.attributes[name] ?? null];
    }
    const geometryChanged = was.geometry !== f.geometry;
    if (!geometryChanged && Object.keys(attributes).length === 0) {
      count(f.class, 'unchanged');
      continue;
    }
    count(f.class, 'changed');
    list(diff.changed, { key, class: f.class, geometry: geometry(f), before: geometry(was), attributes, geometryChanged });
  }
  for (const [key, f] of old) {
    count(f.class, 'removed');
    list(diff.removed, { key, class: f.class, geometry: geometry(f) });
  }
  return diff;
}
