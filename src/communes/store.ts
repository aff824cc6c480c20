import type { Database, Queryable } from '../db/database.js';
import type { Bbox } from '../grid/bbox.js';
import { searchableName, type ReferenceCommune, type ReferenceEpci } from './reference.js';

/** The communes and epcis tables' SQL; nothing else writes them. Every value is a parameter. */

export interface Commune {
  insee: string;
  name: string;
  departement: string;
  epci: { siren: string; name: string } | null;
  population: number | null;
  postalCodes: string[];
  /** Lambert-93 extent of the outline, null before one is imported. */
  bboxLambert93: Bbox | null;
  outlineSource: string | null;
}

export interface Epci {
  siren: string;
  name: string;
  kind: string;
  population: number | null;
  communes: Array<{ insee: string; name: string }>;
  bboxLambert93: Bbox | null;
}

interface CommuneRow {
  insee: string;
  name: string;
  departement: string;
  epci_siren: string | null;
  epci_name: string | null;
  population: number | null;
  postal_codes: string[];
  xmin: number | null;
  ymin: number | null;
  xmax: number | null;
  ymax: number | null;
  geom_source: string | null;
}

const COMMUNE_SELECT = `
  SELECT c.insee, c.name, c.departement, c.epci_siren, e.name AS epci_name, c.population, c.postal_codes,
         ST_XMin(c.geom) AS xmin, ST_YMin(c.geom) AS ymin, ST_XMax(c.geom) AS xmax, ST_YMax(c.geom) AS ymax, c.geom_source
    FROM communes c LEFT JOIN epcis e ON e.siren = c.epci_siren`;

const bboxOf = (r: { xmin: number | null; ymin: number | null; xmax: number | null; ymax: number | null }): Bbox | null =>
  r.xmin === null || r.ymin === null || r.xmax === null || r.ymax === null ? null : [Number(r.xmin), Number(r.ymin), Number(r.xmax), Number(r.ymax)];

function toCommune(r: CommuneRow): Commune {
  return {
    insee: r.insee,
    name: r.name,
    departement: r.departement,
    epci: r.epci_siren ? { siren: r.epci_siren, name: r.epci_name ?? '' } : null,
    population: r.population === null ? null : Number(r.population),
    postalCodes: r.postal_codes,
    bboxLambert93: bboxOf(r),
    outlineSource: r.geom_source,
  };
}

export class CommuneStore {
  constructor(readonly db: Database) {}

  async count(): Promise<{ communes: number; withOutline: number }> {
    const { rows } = await this.db.query<{ n: string; g: string }>(`SELECT count(*)::text AS n, count(geom)::text AS g FROM communes`);
    return { communes: Number(rows[0]?.n ?? 0), withOutline: Number(rows[0]?.g ?? 0) };
  }

  /** Inserts or updates names, EPCI and populations (never the outlines), in one transaction. */
  async upsertReference(ref: { communes: readonly ReferenceCommune[]; epcis: readonly ReferenceEpci[] }): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const e of ref.epcis) {
        await tx.query(
          `INSERT INTO epcis (siren, name, kind, population) VALUES ($1, $2, $3, $4)
           ON CONFLICT (siren) DO UPDATE SET name = excluded.name, kind = excluded.kind, population = excluded.population, updated_at = now()`,
          [e.siren, e.name, e.kind, e.population],
        );
      }
      for (const c of ref.communes) {
        await tx.query(
          `INSERT INTO communes (insee, name, name_search, departement, epci_siren, population, postal_codes) VALUES ($1, $2, $3, $4, $5, $6, $7::text[])
           ON CONFLICT (insee) DO UPDATE SET name = excluded.name, name_search = excluded.name_search, departement = excluded.departement,
             epci_siren = excluded.epci_siren, population = excluded.population, postal_codes = excluded.postal_codes, updated_at = now()`,
          [c.insee, c.name, searchableName(c.name), c.departement, c.epciSiren, c.population, c.postalCodes],
        );
      }
    });
  }

  async exists(insee: string, tx: Queryable = this.db): Promise<boolean> {
    return (await tx.query(`SELECT 1 FROM communes WHERE insee = $1`, [insee])).rows.length > 0;
  }

  /**
   * Sets a commune's outline from a GeoJSON (multi)polygon in Lambert-93 or WGS84, stored in
   * Lambert-93 to the centimetre, made valid and kept as a multipolygon. Returns false when the commune is unknown or
   * the geometry has no area.
   */
  async setOutline(tx: Queryable, insee: string, geojson: string, source: string, srid: OutlineSrid = 2154): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE communes SET geom = g.geom, geom_source = $3, geom_updated_at = now(), updated_at = now()
         FROM (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($2::text), $4::int), 2154), 0.01)), 3)) AS geom) g
        WHERE insee = $1 AND NOT ST_IsEmpty(g.geom)`,
      [insee, geojson, source, srid],
    );
    return rowCount > 0;
  }

  /**
   * Communes whose INSEE code, postal code or name matches: the exact code first, then names equal
   * to the query, then names starting with it, then names with a word starting with it; the most
   * populated first within each.
   */
  async search(query: string, limit: number): Promise<Commune[]> {
    const code = query.trim().toUpperCase();
    const name = searchableName(query);
    if (!code && !name) return [];
    const { rows } = await this.db.query<CommuneRow & { rank: number }>(
      `SELECT * FROM (
         ${COMMUNE_SELECT.replace('SELECT', 'SELECT CASE WHEN c.insee = $1 THEN 0 WHEN $1 = ANY (c.postal_codes) THEN 1 WHEN c.name_search = $2 THEN 2 WHEN c.name_search LIKE $3 THEN 3 WHEN c.name_search LIKE $4 THEN 4 WHEN c.insee LIKE $5 THEN 5 ELSE 9 END AS rank,')}
       ) s WHERE rank < 9 ORDER BY rank, population DESC NULLS LAST, name LIMIT $6`,
      [code, name, `${escapeLike(name)}%`, `% ${escapeLike(name)}%`, `${escapeLike(code)}%`, limit],
    );
    return rows.map(toCommune);
  }

  /** One commune with its outline as GeoJSON, in Lambert-93 (cm) or WGS84 (7 decimals). */
  async get(insee: string, srid: OutlineSrid = 2154): Promise<(Commune & { outline: string | null }) | null> {
    const { rows } = await this.db.query<CommuneRow & { outline: string | null }>(
      `${COMMUNE_SELECT.replace('SELECT', `SELECT ${outlineSql('c.geom', srid)} AS outline,`)} WHERE c.insee = $1`,
      [insee],
    );
    const r = rows[0];
    return r ? { ...toCommune(r), outline: r.outline } : null;
  }

  async list(): Promise<Commune[]> {
    const { rows } = await this.db.query<CommuneRow>(`${COMMUNE_SELECT} ORDER BY c.name_search, c.insee`);
    return rows.map(toCommune);
  }

  /** The communes of the territory that still have no outline. */
  async withoutOutline(): Promise<Array<{ insee: string; name: string }>> {
    const { rows } = await this.db.query<{ insee: string; name: string }>(`SELECT insee, name FROM communes WHERE geom IS NULL ORDER BY insee`);
    return rows;
  }

  async epcis(): Promise<Epci[]> {
    return this.epciRows(null);
  }

  /** One EPCI with the union of its members' outlines (Lambert-93 GeoJSON, null when none has one). */
  async epci(siren: string, srid: OutlineSrid = 2154): Promise<(Epci & { outline: string | null }) | null> {
    const [e] = await this.epciRows(siren);
    if (!e) return null;
    const { rows } = await this.db.query<{ outline: string | null }>(`SELECT ${outlineSql('ST_Multi(ST_Union(geom))', srid)} AS outline FROM communes WHERE epci_siren = $1 AND geom IS NOT NULL`, [siren]);
    return { ...e, outline: rows[0]?.outline ?? null };
  }

  private async epciRows(siren: string | null): Promise<Epci[]> {
    const { rows } = await this.db.query<{ siren: string; name: string; kind: string; population: number | null; communes: Array<{ insee: string; name: string }> | null; xmin: number | null; ymin: number | null; xmax: number | null; ymax: number | null }>(
      `SELECT e.siren, e.name, e.kind, e.population,
              (SELECT json_agg(json_build_object('insee', c.insee, 'name', c.name) ORDER BY c.name_search) FROM communes c WHERE c.epci_siren = e.siren) AS communes,
              b.xmin, b.ymin, b.xmax, b.ymax
         FROM epcis e
         LEFT JOIN LATERAL (SELECT min(ST_XMin(geom)) AS xmin, min(ST_YMin(geom)) AS ymin, max(ST_XMax(geom)) AS xmax, max(ST_YMax(geom)) AS ymax FROM communes c WHERE c.epci_siren = e.siren) b ON true
        WHERE ($1::text IS NULL OR e.siren = $1) AND EXISTS (SELECT 1 FROM communes c WHERE c.epci_siren = e.siren)
        ORDER BY e.name`,
      [siren],
    );
    return rows.map((r) => ({ siren: r.siren, name: r.name, kind: r.kind, population: r.population === null ? null : Number(r.population), communes: r.communes ?? [], bboxLambert93: bboxOf(r) }));
  }
}

export type OutlineSrid = 2154 | 4326;

/** SQL of a geometry expression as GeoJSON in the given CRS (only the two literals above reach it). */
function outlineSql(expr: string, srid: OutlineSrid): string {
  return srid === 4326 ? `ST_AsGeoJSON(ST_Transform(${expr}, 4326), 7)` : `ST_AsGeoJSON(${expr}, 2)`;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
