import { createWriteStream } from 'node:fs';
import { copyFile, link } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OPERATOR, type Caller } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import type { VersionProvenance } from '../catalog/catalog.js';
import { runJob, type RunJobOptions } from '../jobs/run-job.js';
import { DEFAULT_VALIDATION } from '../raster/ingest/validate-dalle.js';
import { ingestDelivery, inspectRaster } from '../raster/ingest/ingest.js';
import { ingestServices } from '../raster/ingest/services.js';
import { errorMessage, UserError } from '../util/errors.js';
import { createScratchDir } from '../util/scratch.js';
import { sha256File, sha256Stream } from '../util/hash.js';
import { validateGmlFileInWorker } from '../vector/gml-worker.js';
import { DeclarationService } from '../declarations/service.js';
import { DeclarationStore } from '../declarations/store.js';
import { BusinessService, defaultZipLimits } from '../business/service.js';
import { BusinessStore } from '../business/store.js';
import { FOREIGN_VECTOR_EXTENSIONS, ForeignFileError, readForeignVector } from './foreign-vector.js';
import { withConversion, writePcrsGml } from './pcrs-mapping.js';
import { CampaignService } from '../campaigns/service.js';
import { importIntoVersion } from '../vector/import.js';
import { ContributionReview } from './review.js';
import { ContributionStore, type BusinessTarget, type Contribution, type Selection, type ContributionFile, type ContributionKind, type FileStatus } from './store.js';

export const VALIDATE_JOB = 'contributions.validate';
export const PUBLISH_JOB = 'contributions.publish';
export const DECISIONS = ['accept', 'reject', 'changes'] as const;
export type Decision = (typeof DECISIONS)[number];
/** States in which files may still be sent. */
const OPEN_STATES = new Set(['draft', 'validating', 'invalid', 'valid', 'changes-requested']);

/** The files a contribution of each kind takes (by extension; the validation reads their content). */
export const ACCEPTED_FILES: Record<ContributionKind, { extensions: readonly string[]; what: string }> = {
  raster: { extensions: ['.tif', '.tiff', '.jp2'], what: 'GeoTIFF or JPEG 2000 dalles' },
  vector: { extensions: ['.gml', '.xml', ...FOREIGN_VECTOR_EXTENSIONS], what: 'CNIG PCRS v2.0 GML, or a GeoPackage, GeoJSON, zipped Shapefile or DXF converted into the PCRS' },
  business: { extensions: FOREIGN_VECTOR_EXTENSIONS, what: 'a GeoPackage, GeoJSON, zipped Shapefile or DXF' },
};
const isGml = (name: string) => ['.gml', '.xml'].includes(path.extname(name).toLowerCase());

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/;

export interface NewContribution {
  kind: ContributionKind;
  title: string;
  description?: string;
  /** The organisation's slug: the caller must be an active member of it. */
  organisation: string;
  surveyedOn?: string;
  producer?: string;
  /** Declarations it answers (errors, update requests, works): resolved when it is published. */
  declarations?: number[];
  /** Business data: the dataset it fills (created, owned by the organisation), its visibility and readers. */
  business?: BusinessTarget;
  /** Vector: CNIG values for every object of its files that lacks them (a DXF carries no attributes). */
  attributeDefaults?: Partial<Record<(typeof DEFAULTABLE)[number], string>>;
  /** A campaign it is a delivery of (its slug): the organisation must be its contractor. */
  campaign?: string;
}

/** CNIG properties a vector contribution may give for a whole file (checked against their code lists by the validator). */
export const DEFAULTABLE = ['thematique', 'qualiteCategorisation', 'precisionPlanimetrique', 'precisionAltimetrique'] as const;

/**
 * Contributions (issue 12): who may create and see them, the files they receive (a finished upload
 * is hashed, stored in the intermediate tier and validated by a job), their state.
 */
export class ContributionService {
  readonly store: ContributionStore;

  constructor(readonly ctx: AppContext) {
    this.store = new ContributionStore(ctx.db);
  }

  private static moderates(caller: Caller): boolean {
    return caller.kind === 'operator' || caller.roles.has('platform-admin') || caller.roles.has('moderator');
  }

  async create(caller: Caller, input: NewContribution): Promise<Contribution> {
    const { rows } = await this.ctx.db.query<{ id: string }>(`SELECT id FROM organisations WHERE slug = $1`, [input.organisation]);
    const orgId = rows[0] ? Number(rows[0].id) : null;
    if (orgId === null) throw new UserError('unknown-organisation', `There is no organisation '${input.organisation}'.`, { status: 400 });
    if (caller.kind !== 'operator' && !(caller.organisationIds ?? []).includes(orgId)) {
      throw new UserError('not-a-member', `You do not act for ${input.organisation}: a contribution is sent for one of your organisations.`, { status: 403 });
    }
    const business = await this.checkBusinessTarget(input, orgId);
    let campaignId: number | null = null;
    if (input.campaign !== undefined) {
      if (input.kind === 'business') throw new UserError('invalid-parameter', 'Business data is not a campaign delivery: send it without a campaign.', { status: 400 });
      campaignId = (await new CampaignService(this.ctx).checkContribution(input.campaign, input.kind, orgId, input.surveyedOn ?? null)).id;
    }
    const declarations = [...new Set(input.declarations ?? [])];
    const declarationStore = new DeclarationStore(this.ctx.db);
    for (const d of declarations) {
      if (!(await declarationStore.get(d))) throw new UserError('unknown-declaration', `There is no declaration ${d}.`, { status: 400 });
    }
    const c = await this.store.create({
      kind: input.kind,
      title: input.title,
      description: input.description ?? '',
      organisationId: orgId,
      authorUserId: caller.userId ?? null,
      authorActor: caller.id,
      surveyedOn: input.surveyedOn ?? null,
      producer: input.producer ?? null,
      business,
      attributeDefaults: input.kind === 'vector' ? Object.fromEntries(Object.entries(input.attributeDefaults ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string')) : {},
      campaignId,
    });
    await this.store.linkDeclarations(c.id, declarations);
    await this.ctx.audit.record(caller, { action: 'contribution.create', target: `contribution:${c.id}`, details: { kind: c.kind, organisation: input.organisation, declarations, ...(input.campaign ? { campaign: input.campaign } : {}) } });
    return c;
  }

  /**
   * A business contribution names its dataset: a new id, or one its organisation owns (another
   * organisation's: 403; a PCRS dataset's: 409), and readers that exist.
   */
  private async checkBusinessTarget(input: NewContribution, orgId: number): Promise<BusinessTarget | null> {
    if (input.kind !== 'business') {
      if (input.business) throw new UserError('invalid-contribution', 'Only a business contribution names a dataset (business).', { status: 400 });
      return null;
    }
    const target = input.business;
    if (!target) throw new UserError('invalid-contribution', 'A business contribution names its dataset: business.dataset, title, visibility and readers.', { status: 400 });
    const business = new BusinessStore(this.ctx.db);
    const kind = await business.datasetKind(target.dataset);
    if (kind !== null && kind !== 'business') throw new UserError('dataset-taken', `'${target.dataset}' is a dataset of the PCRS: choose another id for your data.`, { status: 409 });
    const owned = await business.get(target.dataset);
    if (owned && owned.organisationId !== orgId) throw new UserError('dataset-not-yours', `The dataset '${target.dataset}' belongs to ${owned.organisation}: only its members update it.`, { status: 403 });
    const readers = [...new Set(target.readers)];
    for (const slug of readers) {
      const { rows } = await this.ctx.db.query(`SELECT 1 FROM organisations WHERE slug = $1`, [slug]);
      if (!rows.length) throw new UserError('unknown-organisation', `There is no organisation '${slug}' to read the dataset.`, { status: 400 });
    }
    return { dataset: target.dataset, title: target.title, visibility: target.visibility, readers };
  }

  /** The contribution, if the caller may see it (its author, a member of its organisation, a moderator); else 404 (ids are guessable). */
  async getFor(caller: Caller, id: number): Promise<Contribution> {
    const c = await this.store.get(id);
    const visible = c && (ContributionService.moderates(caller) || (c.authorUserId !== null && c.authorUserId === caller.userId) || (caller.organisationIds ?? []).includes(c.organisationId));
    if (!c || !visible) throw new UserError('not-found', `There is no contribution ${id}.`, { status: 404 });
    return c;
  }

  /** The contribution a file may be uploaded to by this caller: its author or a member of its organisation. */
  async writableFor(caller: Caller, id: number): Promise<Contribution> {
    const c = await this.getFor(caller, id);
    if (caller.kind !== 'operator' && !(caller.organisationIds ?? []).includes(c.organisationId) && c.authorUserId !== caller.userId) {
      throw new UserError('forbidden', 'Only its author and the members of its organisation add files to a contribution.', { status: 403 });
    }
    if (!OPEN_STATES.has(c.state)) throw new UserError('contribution-closed', `Contribution ${c.id} is ${c.state}: it takes no more files.`, { status: 409 });
    return c;
  }

  list(caller: Caller, limit: number): Promise<Contribution[]> {
    return this.store.list({ organisationIds: ContributionService.moderates(caller) ? null : (caller.organisationIds ?? []), authorUserId: caller.userId ?? null, limit });
  }

  /** Checks a file name against the contribution's kind before any byte is received (415). */
  checkFileName(c: Contribution, name: string): void {
    if (!FILE_NAME.test(name)) throw new UserError('invalid-file-name', 'A file name is letters, digits, spaces, dots, hyphens and underscores (at most 200), starting with a letter or digit.', { status: 400 });
    const accepted = ACCEPTED_FILES[c.kind];
    if (!accepted.extensions.includes(path.extname(name).toLowerCase())) {
      throw new UserError('unsupported-type', `A ${c.kind} contribution takes ${accepted.what} (${accepted.extensions.join(', ')}), not '${name}'.`, { status: 415 });
    }
  }

  /** How many more bytes the contribution's organisation may upload (its quota minus what its contributions hold). */
  async remainingQuota(c: Contribution): Promise<number> {
    return Math.max(0, this.ctx.config.contributions.organisationQuotaBytes - (await this.store.organisationBytes(c.organisationId)));
  }

  /**
   * A finished upload: stored in the intermediate tier (its SHA-256 taken on the way), recorded
   * (replacing a file of the same name), and its validation started.
   */
  async receive(caller: Caller, c: Contribution, name: string, file: string, uploadId: string, startValidation: (f: ContributionFile) => void): Promise<ContributionFile> {
    // The key names the upload, not the hash: on local disk the finished file is moved into the tier
    // as it is (rename + fsync: no copy, the answer comes at once) and its validation hashes it
    // first; elsewhere (S3) the tier's write hashes what it sends, in the same pass.
    const tier = this.ctx.tiers.intermediate;
    const key = `contributions/${c.id}/${uploadId}/${name}`;
    let stored: { key: string; bytes: number; sha256: string | null } | null = null;
    if (tier.adopt) {
      try {
        stored = { ...(await tier.adopt(key, file)), sha256: null };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      }
    }
    stored ??= await tier.put(key, { file });
    const { bytes: size, sha256 } = stored;
    const { file: recorded, replaced, replacedConversion } = await this.store.putFile(c.id, { name, bytes: size, sha256, location: stored.key });
    for (const old of [replaced, replacedConversion]) if (old) await this.ctx.tiers.intermediate.delete(old).catch(() => undefined);
    await this.store.refreshState(c.id);
    await this.ctx.audit.record(caller, { action: 'contribution.upload', target: `contribution:${c.id}`, details: { name, bytes: size, sha256 } });
    startValidation(recorded);
    return recorded;
  }

  /** Validates one file with the rules of its kind (a persistent job per file content), then the contribution's state follows. */
  async validate(fileId: number, options: RunJobOptions = {}): Promise<ContributionFile> {
    let f = await this.store.file(fileId);
    if (!f) throw new UserError('not-found', `There is no contribution file ${fileId}.`, { status: 404 });
    if (f.sha256 === null) {
      // Moved into the tier unhashed: its SHA-256 first (recorded only if it is still that upload).
      const local = this.ctx.tiers.intermediate.localPath?.(f.location);
      const { sha256 } = local !== undefined ? await sha256File(local) : await sha256Stream(await this.ctx.tiers.intermediate.get(f.location));
      await this.store.setSha256(f.id, f.location, sha256);
      f = await this.store.file(fileId);
      if (!f?.sha256) throw new UserError('file-replaced', `The contribution file ${fileId} was replaced while it was hashed.`, { status: 409 });
    }
    const sha = f.sha256 as string;
    const c = (await this.store.get(f.contributionId)) as Contribution;
    const job = await this.ctx.jobs.findOrCreate(VALIDATE_JOB, `${VALIDATE_JOB}:${f.id}:${sha}`, { fileId: f.id, sha256: sha });
    await this.store.setFileJob(f.id, job.id);
    const { status, report, converted } = await runJob(this.ctx.jobs, job, async (j) => {
      await j.progress(0, 1, `validating ${f.name}`);
      const result = await this.check(c.kind, f);
      await j.progress(1, 1, result.status);
      return result;
    }, options);
    if (!(await this.store.setReport(f.id, sha, status, report, converted))) {
      // Replaced while it was validated: its conversion is nobody's.
      if (converted) await this.ctx.tiers.intermediate.delete(converted).catch(() => undefined);
    }
    await this.store.refreshState(c.id);
    return (await this.store.file(f.id)) as ContributionFile;
  }

  /**
   * A moderator's decision: accept (a valid contribution: published as an update version, in the
   * background), reject (final; the current PCRS is untouched) or ask for changes (the contributor
   * sends files again). Taken once: a second moderator deciding at the same time gets 409.
   * The contributor is told by e-mail; every decision is in the audit log.
   */
  async decide(caller: Caller, id: number, decision: Decision, reason: string | undefined, startPublication: (id: number) => void, selection?: Selection): Promise<Contribution> {
    if (!ContributionService.moderates(caller)) throw new UserError('forbidden', 'Only moderators decide on contributions.', { status: 403 });
    const c = await this.getFor(caller, id);
    const text = reason?.trim() || null;
    if (decision !== 'accept' && !text) throw new UserError('reason-required', 'Say why: the contributor reads it.', { status: 400 });
    if (selection) await this.checkSelection(c, decision, selection);
    const from = decision === 'accept' ? (['valid'] as const) : (['valid', 'invalid', 'validating', 'changes-requested', 'draft'] as const);
    const to = decision === 'accept' ? 'publishing' : decision === 'reject' ? 'rejected' : 'changes-requested';
    const decided = await this.store.decide(c.id, from, to, caller.id, text, decision === 'accept' ? (selection ?? null) : null);
    if (!decided) {
      const now = (await this.store.get(c.id)) as Contribution;
      throw new UserError('invalid-transition', decision === 'accept' && now.state !== 'valid' && !['publishing', 'accepted', 'rejected'].includes(now.state) ? `Contribution ${c.id} is ${now.state}: only a contribution whose files all passed their checks is accepted.` : `Contribution ${c.id} is ${now.state} now: someone decided before you.`, { status: 409 });
    }
    await this.ctx.audit.record(caller, { action: `contribution.${decision}`, target: `contribution:${c.id}`, details: { ...(text ? { reason: text } : {}), ...(selection ? { selection } : {}) } });
    // A refused vector contribution's staged version goes: the current PCRS never knew it.
    if (decision === 'reject' && c.kind === 'vector') await new ContributionReview(this.ctx, this).discardStaged(c);
    if (decision === 'accept') startPublication(c.id);
    else await this.tell(decided, decision === 'reject' ? 'refusée' : 'à compléter', text ?? '');
    return decided;
  }

  /** A selection names parts of this contribution: dalles (file ids) of a raster one, objects of a vector one. */
  private async checkSelection(c: Contribution, decision: Decision, selection: Selection): Promise<void> {
    if (decision !== 'accept') throw new UserError('invalid-selection', 'Only an acceptance chooses part of a contribution.', { status: 400 });
    if (c.kind === 'raster') {
      const ids = new Set((await this.store.files(c.id)).filter((f) => f.status !== 'rejected').map((f) => f.id));
      if (selection.objects || !selection.files?.length || selection.files.some((id) => !ids.has(id))) {
        throw new UserError('invalid-selection', `Choose the dalles of contribution ${c.id} to publish by their file ids (files of this contribution that passed their checks).`, { status: 400 });
      }
    } else if (c.kind === 'vector') {
      if (c.campaign) throw new UserError('invalid-selection', `Contribution ${c.id} is a delivery of campaign '${c.campaign}': its files are accepted whole (the campaign's check decides).`, { status: 400 });
      if (selection.files || !selection.objects?.length) throw new UserError('invalid-selection', `Choose the objects of contribution ${c.id} to publish by their keys (Class:idObjet, as its comparison lists them).`, { status: 400 });
    } else {
      throw new UserError('invalid-selection', 'Business data is accepted whole.', { status: 400 });
    }
  }

  /**
   * Publishes an accepted contribution as an update version of the orthophoto or of the vector,
   * named `contribution-<id>`, over exactly what its files cover (the newest version wins there).
   * Built unpublished, published at the end in one change of its status: readers see the old state,
   * then the new one, never a mix. A failure puts the contribution back to valid, with the reason.
   */
  async publish(id: number, options: RunJobOptions = {}): Promise<Contribution> {
    const c = (await this.store.get(id)) as Contribution;
    if (c.state !== 'publishing') return c;
    // One process at a time (a persistent job: another live process holding it answers job-busy).
    const job = await this.ctx.jobs.findOrCreate(PUBLISH_JOB, `${PUBLISH_JOB}:${c.id}`, { contribution: c.id });
    return runJob(this.ctx.jobs, job, (j) => this.publishNow(c, { ...options, signal: j.signal }), options);
  }

  /**
   * The files as the ingest and the import read them, in `dir`: hard links to the tier's files on
   * local disk (the ingest skips symbolic links), else copies. A vector file sent in another format
   * is the GML it was converted into and validated as.
   */
  async materialise(files: readonly ContributionFile[], dir: string): Promise<string[]> {
    const paths: string[] = [];
    for (const f of files) {
      const location = f.convertedLocation ?? f.location;
      const target = path.join(dir, f.convertedLocation ? `${f.name}.pcrs.gml` : f.name);
      const local = this.ctx.tiers.intermediate.localPath?.(location);
      if (local !== undefined) await link(local, target).catch(() => copyFile(local, target));
      else await pipeline(await this.ctx.tiers.intermediate.get(location), createWriteStream(target));
      paths.push(target);
    }
    return paths;
  }

  provenanceOf(c: Contribution): VersionProvenance {
    return { contribution: c.id, organisation: c.organisation, producer: c.producer, surveyedOn: c.surveyedOn, title: c.title };
  }

  descriptionOf(c: Contribution): string {
    return `Contribution n° ${c.id} de ${c.organisation}${c.producer ? ` (producteur : ${c.producer})` : ''} : ${c.title}`;
  }

  private async publishNow(c: Contribution, options: RunJobOptions): Promise<Contribution> {
    const id = c.id;
    // Dalles accepted in part: only the chosen files go.
    const chosen = c.kind === 'raster' && c.selection?.files ? new Set(c.selection.files) : null;
    const files = (await this.store.files(id)).filter((f) => !chosen || chosen.has(f.id));
    const versionName = `contribution-${c.id}`;
    const scratch = await createScratchDir(path.join(this.ctx.config.dataDir, 'tmp', 'contributions'));
    try {
      if (c.campaign && c.kind !== 'business') return await this.deliverToCampaign(c, c.campaign, c.kind, files, scratch.dir, options);
      const description = this.descriptionOf(c);
      const provenance = this.provenanceOf(c);
      if (c.kind === 'vector') {
        // The version the moderator compared (staged once), cut to the objects chosen, switched on in one change.
        const review = new ContributionReview(this.ctx, this);
        const versionId = await review.stageVector(c);
        if (c.selection?.objects) await review.keepOnly(c, versionId, c.selection.objects);
        // Staged at review time, it wins as of now over what was published meanwhile; raised and
        // switched on in one transaction, holding the dataset's row: two publications at once take
        // turns, each above the other's (never the same priority).
        await this.ctx.db.transaction(async (tx) => {
          await tx.query(`SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE`, ['vector']);
          const catalog = this.ctx.catalog.with(tx);
          await catalog.raiseVersionToTop(versionId);
          await catalog.setVersionStatus(versionId, 'published');
        });
        return await this.accepted(c, versionId, versionName);
      }
      const paths = await this.materialise(files, scratch.dir);
      if (c.kind === 'business') return await this.publishBusiness(c, files, paths, versionName, provenance, description, scratch.dir);
      // The version and its provenance first, unpublished: it never serves without saying where it comes from.
      const datasetId = c.kind === 'raster' ? 'ortho' : 'vector';
      const made = await this.ctx.catalog.ensureVersion({ datasetId, name: versionName, kind: 'update', acquisitionDate: c.surveyedOn });
      await this.ctx.catalog.setVersionProvenance(made.id, provenance, description);
      const report = await ingestDelivery(ingestServices(this.ctx), { dir: scratch.dir, datasetId: 'ortho', versionName, ...(c.surveyedOn ? { date: c.surveyedOn } : {}), kind: 'update', ...(options.signal ? { signal: options.signal } : {}) });
      if (report.summary.ok + report.summary.warning === 0) throw new Error(`no dalle of contribution ${c.id} was accepted by the ingest`);
      return await this.accepted(c, (await this.ctx.catalog.getVersion('ortho', versionName)).id, versionName);
    } catch (e) {
      await this.store.published(c.id, { failed: `The publication failed: ${errorMessage(e)}` });
      this.ctx.log.error({ err: errorMessage(e), contribution: c.id }, 'contribution: publication failed');
      throw e;
    } finally {
      await scratch.remove();
    }
  }

  /**
   * An accepted campaign delivery: its dalles ingested (or its GML imported) into the campaign's
   * unpublished version and ticked off there, as `pcrs ingest --campaign` does; the campaign's check
   * and publication do the rest (its declarations and "to update" marks are the campaign's to answer).
   */
  private async deliverToCampaign(c: Contribution, slug: string, kind: 'raster' | 'vector', files: ContributionFile[], dir: string, options: RunJobOptions): Promise<Contribution> {
    const campaigns = new CampaignService(this.ctx);
    const paths = await this.materialise(files, dir);
    let versionId: number;
    let summary: string;
    if (kind === 'raster') {
      const { versionName } = await campaigns.prepareDelivery(OPERATOR, slug, c.surveyedOn);
      const report = await ingestDelivery(ingestServices(this.ctx), { dir, datasetId: 'ortho', versionName, kind: 'update', publish: false, ...(c.surveyedOn ? { date: c.surveyedOn } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      const outcome = await campaigns.recordIngest(OPERATOR, slug, report, c.surveyedOn);
      versionId = (await this.ctx.catalog.getVersion('ortho', versionName)).id;
      summary = `${outcome.received} dalle(s) reçue(s), ${outcome.rejected} refusée(s), ${outcome.outside.length} hors de la zone`;
    } else {
      const { versionName } = await campaigns.prepareVectorDelivery(OPERATOR, slug, c.surveyedOn);
      const { results } = await importIntoVersion(this.ctx, paths, { datasetId: 'vector', versionName, kind: 'update', publish: false });
      const outcome = await campaigns.recordGmlImport(OPERATOR, slug, results, c.surveyedOn);
      versionId = (await this.ctx.catalog.getVersion('vector', versionName)).id;
      summary = `${results.filter((r) => r.status === 'imported').length} fichier(s) importé(s), ${outcome.outside.length} hors de la zone`;
    }
    await this.store.published(c.id, { versionId });
    const done = (await this.store.get(c.id)) as Contribution;
    await this.ctx.audit.record(OPERATOR, { action: 'contribution.delivered', target: `contribution:${c.id}`, details: { campaign: slug } });
    await this.tell(done, 'livrée à la campagne', `Elle est livrée à la campagne « ${slug} » (${summary}) ; la campagne la vérifie et la publie.`);
    return done;
  }

  /** A published orthophoto or vector contribution: what it answers settled, then accepted, told and audited. */
  private async accepted(c: Contribution, versionId: number, versionName: string): Promise<Contribution> {
    // What it answers is settled before it says "accepted" (a failure there does not undo the publication).
    await this.answer(c, versionId, versionName).catch((e: unknown) => this.ctx.log.warn({ err: errorMessage(e), contribution: c.id }, 'contribution: its declarations and marks could not all be settled'));
    await this.store.published(c.id, { versionId });
    const done = (await this.store.get(c.id)) as Contribution;
    const part = c.selection ? ` (${c.selection.objects ? `${c.selection.objects.length} objet(s)` : `${c.selection.files?.length ?? 0} dalle(s)`} retenu(s) par la modération)` : '';
    await this.ctx.audit.record(OPERATOR, { action: 'contribution.published', target: `contribution:${c.id}`, details: { version: versionName, ...(c.selection ? { selection: c.selection } : {}) } });
    await this.tell(done, 'acceptée et publiée', `Elle est publiée comme version ${versionName}${part}.`);
    return done;
  }

  /** Business data: a new version of its dataset (created for the organisation, visibility and readers as asked). */
  private async publishBusiness(c: Contribution, files: ContributionFile[], paths: string[], versionName: string, provenance: VersionProvenance, description: string, workDir: string): Promise<Contribution> {
    const target = c.business as BusinessTarget;
    const readerIds: number[] = [];
    for (const slug of target.readers) {
      const { rows } = await this.ctx.db.query<{ id: string }>(`SELECT id FROM organisations WHERE slug = $1`, [slug]);
      if (rows[0]) readerIds.push(Number(rows[0].id));
    }
    const versionId = await new BusinessService(this.ctx).publish({
      dataset: target.dataset,
      title: target.title,
      organisationId: c.organisationId,
      visibility: target.visibility,
      readerIds,
      versionName,
      surveyedOn: c.surveyedOn,
      provenance,
      description,
      files: files.map((f, i) => ({ path: paths[i] as string, name: f.name, sha256: f.sha256 as string, bytes: f.bytes })),
      workDir: path.join(workDir, 'business'),
    });
    await this.store.published(c.id, { versionId });
    const done = (await this.store.get(c.id)) as Contribution;
    await this.ctx.audit.record(OPERATOR, { action: 'contribution.published', target: `contribution:${c.id}`, details: { dataset: target.dataset, version: versionName } });
    await this.tell(done, 'acceptée et publiée', `Vos données sont publiées dans le jeu ${target.dataset} (${target.visibility === 'public' ? 'public' : 'restreint'}), version ${versionName}.`);
    return done;
  }

  /**
   * What a published contribution answers: its declarations resolved with a link to the new version
   * (their followers are mailed by the declarations' own service), and the "to update" marks of the
   * same dataset that its coverage now covers, consumed. A declaration that cannot be resolved (closed
   * meanwhile) is logged, not fatal: the version is published.
   */
  private async answer(c: Contribution, versionId: number, versionName: string): Promise<void> {
    const declarations = new DeclarationService(this.ctx);
    const origin = { base: this.ctx.config.publicUrl ?? '' };
    for (const id of await this.store.declarations(c.id)) {
      try {
        await declarations.changeStatus(OPERATOR, id, { status: 'resolved', reason: `Résolue par la contribution n° ${c.id} (${c.organisation}), publiée comme version ${versionName}.` }, origin);
      } catch (e) {
        this.ctx.log.warn({ err: errorMessage(e), contribution: c.id, declaration: id }, 'contribution: a declaration it answers could not be resolved');
      }
    }
    const consumed = await new DeclarationStore(this.ctx.db).consumeMarksCoveredBy({ id: versionId, datasetId: c.kind === 'raster' ? 'ortho' : 'vector' }, `contribution:${c.id}`);
    if (consumed) this.ctx.log.info({ contribution: c.id, marks: consumed }, 'contribution: "to update" marks filled');
  }

  /** Mails the contributor (French, then English) about a decision. */
  private async tell(c: Contribution, what: string, text: string): Promise<void> {
    if (c.authorUserId === null) return;
    try {
      const { rows } = await this.ctx.db.query<{ email: string; display_name: string }>(`SELECT email, display_name FROM users WHERE id = $1 AND disabled_at IS NULL`, [c.authorUserId]);
      const user = rows[0];
      if (!user) return;
      const link = `${this.ctx.config.publicUrl ?? ''}/#/contributions/${c.id}`;
      await this.ctx.mail.send({
        to: user.email,
        subject: `Contribution ${what} — ${c.title}`,
        text: `Bonjour ${user.display_name},\n\nVotre contribution « ${c.title} » (${c.organisation}) est ${what}.\n${text ? `\n${text}\n` : ''}\n${link}\n\n— English —\nYour contribution "${c.title}" changed state: ${c.state}.\n${link}\n`,
      });
    } catch (e) {
      this.ctx.log.warn({ err: errorMessage(e), contribution: c.id }, 'contributions: the contributor could not be told');
    }
  }

  /**
   * A vector file in another format: read with GDAL, mapped into the PCRS (pcrs-mapping.ts), written
   * as CNIG GML and validated by the one GML validator; the GML is kept in the tier beside the file
   * (what the moderator accepts is what was validated). A file refused as a whole (zip slip or bomb,
   * a Shapefile without .prj, not the format it claims) gets a report saying so.
   */
  private async convertAndCheck(f: ContributionFile, local: string, workDir: string, gmlOptions: { territoryBbox: [number, number, number, number]; territoryName: string }, scrub: <T>(r: T) => T): Promise<{ status: Exclude<FileStatus, 'pending'>; report: unknown; converted: string | null }> {
    let read;
    try {
      read = await readForeignVector(local, path.join(workDir, 'read'), defaultZipLimits(this.ctx.config.contributions.maxFileBytes));
    } catch (e) {
      if (!(e instanceof ForeignFileError)) throw e;
      const findings = [{ severity: 'error' as const, rule: e.rule, line: null, message: e.message }];
      return { status: 'rejected', report: scrub({ file: f.name, valid: false, durationMs: 0, root: null, xsd: { ran: false, skipped: 'the file could not be converted' }, crs: [], featureCount: 0, featuresByClass: {}, summary: { errors: 1, warnings: 0, byRule: { [e.rule]: { severity: 'error', count: 1 } } }, findings, truncatedRules: [], maxFindingsPerRule: 100 }), converted: null };
    }
    const gml = path.join(workDir, `${f.name}.pcrs.gml`);
    const c = (await this.store.get(f.contributionId)) as Contribution;
    // The contribution's producer and survey date stand for objects that do not say theirs.
    const defaults = { ...(c.producer ? { producteur: c.producer } : {}), ...(c.surveyedOn ? { dateLeve: c.surveyedOn } : {}), ...c.attributeDefaults };
    const conversion = await writePcrsGml(read, gml, { defaults, idPrefix: `c${c.id}` });
    const gmlPath = JSON.stringify(gml).slice(1, -1);
    const report = JSON.parse(JSON.stringify(withConversion(await validateGmlFileInWorker(gml, gmlOptions), conversion, f.name)).split(gmlPath).join(f.name)) as ReturnType<typeof withConversion>;
    const converted = report.valid ? (await this.ctx.tiers.intermediate.put(`${path.posix.dirname(f.location)}/${f.name}.pcrs.gml`, { file: gml })).key : null;
    return { status: !report.valid ? 'rejected' : report.summary.warnings > 0 ? 'warning' : 'ok', report: scrub(report), converted };
  }

  private async check(kind: ContributionKind, f: ContributionFile): Promise<{ status: Exclude<FileStatus, 'pending'>; report: unknown; converted: string | null }> {
    const tier = this.ctx.tiers.intermediate;
    const scratch = await createScratchDir(path.join(this.ctx.config.dataDir, 'tmp', 'contributions'));
    try {
      // The tier's own file when on local disk, else a copy in the scratch directory.
      let local = tier.localPath?.(f.location);
      if (local === undefined) {
        local = path.join(scratch.dir, f.name);
        await pipeline(await tier.get(f.location), createWriteStream(local));
      }
      // Reports name the file as the contributor sent it, never where the server keeps it (GDAL's and xmllint's messages quote the path).
      const where = JSON.stringify(local).slice(1, -1);
      const scrub = <T>(report: T): T => JSON.parse(JSON.stringify(report).split(where).join(f.name)) as T;
      const territory = this.ctx.config.territory;
      const gmlOptions = { territoryBbox: territory.extent as [number, number, number, number], territoryName: territory.name };
      if (kind === 'vector' && isGml(f.name)) {
        const report = await validateGmlFileInWorker(local, gmlOptions);
        return { status: !report.valid ? 'rejected' : report.summary.warnings > 0 ? 'warning' : 'ok', report: scrub({ ...report, file: f.name }), converted: null };
      }
      if (kind === 'vector') return await this.convertAndCheck(f, local, scratch.dir, gmlOptions, scrub);
      if (kind === 'business') {
        const report = await new BusinessService(this.ctx).check(local, f.name, path.join(scratch.dir, 'read'));
        return { status: report.status, report: scrub(report), converted: null };
      }
      const year = Number((await this.store.get(f.contributionId))?.surveyedOn?.slice(0, 4)) || new Date().getFullYear();
      const { validation } = await inspectRaster(local, f.bytes, { territory: this.ctx.config.territory, year, ...DEFAULT_VALIDATION });
      const { status, findings, canonicalName, sourceCrs, bbox2154 } = validation;
      return { status, report: scrub({ file: f.name, status, findings, canonicalName: canonicalName ?? null, sourceCrs: sourceCrs ?? null, bbox2154: bbox2154 ?? null }), converted: null };
    } finally {
      await scratch.remove();
    }
  }
}
