import type { Queryable } from '../db/database.js';

/** The only SQL on `contributions` and `contribution_files`. */

export const CONTRIBUTION_KINDS = ['raster', 'vector', 'business'] as const;
export type ContributionKind = (typeof CONTRIBUTION_KINDS)[number];
export type ContributionState = 'draft' | 'validating' | 'invalid' | 'valid' | 'changes-requested' | 'rejected' | 'publishing' | 'accepted';
export type FileStatus = 'pending' | 'ok' | 'warning' | 'rejected';

/** Part of a contribution accepted: object keys (`Class:idObjet`, vector) or file ids (dalles). */
export interface Selection {
  objects?: string[];
  files?: number[];
}

/** Where a business contribution goes: its dataset, and who reads it. */
export interface BusinessTarget {
  dataset: string;
  title: string;
  visibility: 'public' | 'restricted';
  /** Organisations (slugs) that read it when restricted, besides the contributing one. */
  readers: string[];
}

export interface Contribution {
  id: number;
  kind: ContributionKind;
  title: string;
  description: string;
  organisationId: number;
  organisation: string;
  authorUserId: number | null;
  authorActor: string;
  surveyedOn: string | null;
  producer: string | null;
  state: ContributionState;
  moderatedBy: string | null;
  moderatedAt: string | null;
  reason: string | null;
  versionId: number | null;
  business: BusinessTarget | null;
  /** CNIG properties given for every object of its files that lacks them (vector). */
  attributeDefaults: Record<string, string>;
  /** What a moderator accepted when not all of it: object keys (vector) or file ids (dalles). */
  selection: Selection | null;
  /** The campaign it is a delivery of (its slug), if any: accepted, it goes into the campaign's version. */
  campaign: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ContributionFile {
  id: number;
  contributionId: number;
  name: string;
  bytes: number;
  /** Null from the moment the upload is stored until its validation job has hashed it (first thing). */
  sha256: string | null;
  location: string;
  /** The CNIG GML a file in another format was converted into (intermediate tier key). */
  convertedLocation: string | null;
  uploadedAt: string;
  status: FileStatus;
  report: unknown;
  jobId: number | null;
  validatedAt: string | null;
}

interface Row {
  id: string;
  kind: ContributionKind;
  title: string;
  description: string;
  organisation_id: string;
  organisation: string;
  author_user_id: string | null;
  author_actor: string;
  surveyed_on: string | Date | null;
  producer: string | null;
  state: ContributionState;
  moderated_by: string | null;
  moderated_at: Date | string | null;
  reason: string | null;
  version_id: string | null;
  business: BusinessTarget | string | null;
  attribute_defaults: Record<string, string> | string;
  selection: Selection | string | null;
  campaign: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface FileRow {
  id: string;
  contribution_id: string;
  name: string;
  bytes: string | number;
  sha256: string | null;
  location: string;
  converted_location: string | null;
  uploaded_at: Date | string;
  status: FileStatus;
  report: unknown;
  job_id: string | null;
  validated_at: Date | string | null;
}

const iso = (d: Date | string) => new Date(d).toISOString();
const day = (d: Date | string | null) => (d === null ? null : typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

const toContribution = (r: Row): Contribution => ({
  id: Number(r.id),
  kind: r.kind,
  title: r.title,
  description: r.description,
  organisationId: Number(r.organisation_id),
  organisation: r.organisation,
  authorUserId: r.author_user_id === null ? null : Number(r.author_user_id),
  authorActor: r.author_actor,
  surveyedOn: day(r.surveyed_on),
  producer: r.producer,
  state: r.state,
  moderatedBy: r.moderated_by,
  moderatedAt: r.moderated_at === null ? null : iso(r.moderated_at),
  reason: r.reason,
  versionId: r.version_id === null ? null : Number(r.version_id),
  business: typeof r.business === 'string' ? (JSON.parse(r.business) as BusinessTarget) : r.business,
  attributeDefaults: typeof r.attribute_defaults === 'string' ? (JSON.parse(r.attribute_defaults) as Record<string, string>) : r.attribute_defaults,
  selection: typeof r.selection === 'string' ? (JSON.parse(r.selection) as Selection) : r.selection,
  campaign: r.campaign,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const toFile = (r: FileRow): ContributionFile => ({
  id: Number(r.id),
  contributionId: Number(r.contribution_id),
  name: r.name,
  bytes: Number(r.bytes),
  sha256: r.sha256,
  location: r.location,
  convertedLocation: r.converted_location,
  uploadedAt: iso(r.uploaded_at),
  status: r.status,
  report: r.report,
  jobId: r.job_id === null ? null : Number(r.job_id),
  validatedAt: r.validated_at === null ? null : iso(r.validated_at),
});

const SELECT = `SELECT c.*, o.slug AS organisation, cp.slug AS campaign FROM contributions c JOIN organisations o ON o.id = c.organisation_id LEFT JOIN campaigns cp ON cp.id = c.campaign_id`;
const FILE_COLUMNS = `id, contribution_id, name, bytes, sha256, location, converted_location, uploaded_at, status, report, job_id, validated_at`;

export class ContributionStore {
  constructor(private readonly db: Queryable) {}

  async create(c: { kind: ContributionKind; title: string; description: string; organisationId: number; authorUserId: number | null; authorActor: string; surveyedOn: string | null; producer: string | null; business: BusinessTarget | null; attributeDefaults: Record<string, string>; campaignId: number | null }): Promise<Contribution> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO contributions (kind, title, description, organisation_id, author_user_id, author_actor, surveyed_on, producer, business, attribute_defaults, campaign_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [c.kind, c.title, c.description, c.organisationId, c.authorUserId, c.authorActor, c.surveyedOn, c.producer, c.business === null ? null : JSON.stringify(c.business), JSON.stringify(c.attributeDefaults), c.campaignId],
    );
    return (await this.get(Number(rows[0]?.id))) as Contribution;
  }

  async get(id: number): Promise<Contribution | null> {
    const { rows } = await this.db.query<Row>(`${SELECT} WHERE c.id = $1`, [id]);
    return rows[0] ? toContribution(rows[0]) : null;
  }

  /** Newest first: all of them (`organisationIds` null), or those of these organisations and this author. */
  async list(filter: { organisationIds: readonly number[] | null; authorUserId: number | null; limit: number }): Promise<Contribution[]> {
    const { rows } =
      filter.organisationIds === null
        ? await this.db.query<Row>(`${SELECT} ORDER BY c.id DESC LIMIT $1`, [filter.limit])
        : await this.db.query<Row>(`${SELECT} WHERE c.organisation_id = ANY($1::bigint[]) OR c.author_user_id = $2 ORDER BY c.id DESC LIMIT $3`, [filter.organisationIds, filter.authorUserId, filter.limit]);
    return rows.map(toContribution);
  }

  async files(contributionId: number): Promise<ContributionFile[]> {
    const { rows } = await this.db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM contribution_files WHERE contribution_id = $1 ORDER BY name`, [contributionId]);
    return rows.map(toFile);
  }

  async file(id: number): Promise<ContributionFile | null> {
    const { rows } = await this.db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM contribution_files WHERE id = $1`, [id]);
    return rows[0] ? toFile(rows[0]) : null;
  }

  /** Records an uploaded file (a file of the same name is replaced: its old location is returned, to delete). */
  async putFile(contributionId: number, f: { name: string; bytes: number; sha256: string | null; location: string }): Promise<{ file: ContributionFile; replaced: string | null; replacedConversion: string | null }> {
    const old = await this.db.query<{ location: string; converted_location: string | null }>(`SELECT location, converted_location FROM contribution_files WHERE contribution_id = $1 AND name = $2`, [contributionId, f.name]);
    const { rows } = await this.db.query<FileRow>(
      `INSERT INTO contribution_files (contribution_id, name, bytes, sha256, location) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (contribution_id, name) DO UPDATE SET bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, location = EXCLUDED.location,
         uploaded_at = now(), status = 'pending', report = NULL, job_id = NULL, validated_at = NULL, converted_location = NULL
       RETURNING ${FILE_COLUMNS}`,
      [contributionId, f.name, f.bytes, f.sha256, f.location],
    );
    const replaced = old.rows[0]?.location;
    return { file: toFile(rows[0] as FileRow), replaced: replaced !== undefined && replaced !== f.location ? replaced : null, replacedConversion: old.rows[0]?.converted_location ?? null };
  }

  async setFileJob(fileId: number, jobId: number): Promise<void> {
    await this.db.query(`UPDATE contribution_files SET job_id = $2 WHERE id = $1`, [fileId, jobId]);
  }

  /** The SHA-256 of a file stored unhashed, if it is still that upload (same location: not replaced meanwhile). */
  async setSha256(fileId: number, location: string, sha256: string): Promise<boolean> {
    const { rows } = await this.db.query(`UPDATE contribution_files SET sha256 = $3 WHERE id = $1 AND location = $2 RETURNING id`, [fileId, location, sha256]);
    return rows.length > 0;
  }

  /** The verdict of a file's validation (and the GML it was converted into), if it is still the file validated (same SHA-256: not replaced meanwhile). */
  async setReport(fileId: number, sha256: string, status: Exclude<FileStatus, 'pending'>, report: unknown, convertedLocation: string | null = null): Promise<boolean> {
    const { rows } = await this.db.query(`UPDATE contribution_files SET status = $3, report = $4, validated_at = now(), converted_location = $5 WHERE id = $1 AND sha256 = $2 RETURNING id`, [
      fileId,
      sha256,
      status,
      JSON.stringify(report),
      convertedLocation,
    ]);
    return rows.length > 0;
  }

  /** The contribution's state from its files': validating while one is pending, invalid when one is rejected, else valid. */
  async refreshState(contributionId: number): Promise<ContributionState> {
    const { rows } = await this.db.query<{ state: ContributionState }>(
      `UPDATE contributions c SET updated_at = now(), state = CASE
          WHEN NOT EXISTS (SELECT 1 FROM contribution_files f WHERE f.contribution_id = c.id) THEN 'draft'
          WHEN EXISTS (SELECT 1 FROM contribution_files f WHERE f.contribution_id = c.id AND f.status = 'pending') THEN 'validating'
          WHEN EXISTS (SELECT 1 FROM contribution_files f WHERE f.contribution_id = c.id AND f.status = 'rejected') THEN 'invalid'
          ELSE 'valid' END
        WHERE c.id = $1 AND c.state IN ('draft', 'validating', 'invalid', 'valid', 'changes-requested') RETURNING c.state`,
      [contributionId],
    );
    return rows[0]?.state ?? ((await this.get(contributionId))?.state as ContributionState);
  }

  /**
   * A moderator's decision, taken only from the state it applies to (`from`): two moderators
   * deciding at once — the second finds the state changed and gets null.
   */
  async decide(id: number, from: readonly ContributionState[], to: ContributionState, by: string, reason: string | null, selection: Selection | null = null): Promise<Contribution | null> {
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE contributions SET state = $3, moderated_by = $4, moderated_at = now(), reason = $5, selection = $6, updated_at = now() WHERE id = $1 AND state = ANY($2::text[]) RETURNING id`,
      [id, from, to, by, reason, selection === null ? null : JSON.stringify(selection)],
    );
    return rows[0] ? this.get(id) : null;
  }

  /** The end of a publication: accepted with its version, or back to valid when it failed. */
  async published(id: number, outcome: { versionId: number } | { failed: string }): Promise<void> {
    if ('versionId' in outcome) await this.db.query(`UPDATE contributions SET state = 'accepted', version_id = $2, updated_at = now() WHERE id = $1 AND state = 'publishing'`, [id, outcome.versionId]);
    else await this.db.query(`UPDATE contributions SET state = 'valid', reason = $2, updated_at = now() WHERE id = $1 AND state = 'publishing'`, [id, outcome.failed.slice(0, 2000)]);
  }

  /** Contributions left publishing by a process that stopped, to resume. */
  async publishing(): Promise<number[]> {
    const { rows } = await this.db.query<{ id: string }>(`SELECT id FROM contributions WHERE state = 'publishing' ORDER BY id`);
    return rows.map((r) => Number(r.id));
  }

  /** Bytes an organisation holds in contributions (the quota counts them). */
  async organisationBytes(organisationId: number): Promise<number> {
    const { rows } = await this.db.query<{ n: string | null }>(
      `SELECT sum(f.bytes) AS n FROM contribution_files f JOIN contributions c ON c.id = f.contribution_id WHERE c.organisation_id = $1`,
      [organisationId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async linkDeclarations(contributionId: number, declarationIds: readonly number[]): Promise<void> {
    for (const d of declarationIds) await this.db.query(`INSERT INTO contribution_declarations (contribution_id, declaration_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [contributionId, d]);
  }

  async declarations(contributionId: number): Promise<number[]> {
    const { rows } = await this.db.query<{ declaration_id: string }>(`SELECT declaration_id FROM contribution_declarations WHERE contribution_id = $1 ORDER BY declaration_id`, [contributionId]);
    return rows.map((r) => Number(r.declaration_id));
  }

  /** Files whose validation was never finished (a process stopped), to run again. */
  async pendingFiles(): Promise<ContributionFile[]> {
    const { rows } = await this.db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM contribution_files WHERE status = 'pending' ORDER BY id`);
    return rows.map(toFile);
  }
}
