/**
 * The CPU side of GML validation and import, in a worker thread (`gml-worker-thread.ts`): read and
 * validate the file (XSD by xmllint + CNIG rules) and, for an import, turn its valid features into
 * `FeatureBatch`es for the database. In a thread of its own the parse gets a core and a small heap
 * (in a process that has loaded the whole platform, V8's garbage collector made it 2× slower),
 * the calling thread feeds PostgreSQL meanwhile, and a server's event loop stays free (BENCHMARKS.md,
 * gml-import). From the TypeScript sources (tests) the worker's compiled file does not exist and
 * the same code runs in the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError } from '../util/errors.js';
import { ConvexHullAccumulator } from './convex-hull.js';
import { MAX_CLASSES, OTHER_CLASSES } from './gml/cnig-rules.js';
import { forEachPosition } from './gml/pcrs-model.js';
import type { ValidationReport } from './gml/report.js';
import { validateGmlFile, type ValidateOptions } from './gml/validate.js';
import { FeatureBatcher, featureRow, type FeatureBatch } from './store.js';

export interface ImportParseOptions {
  versionId: number;
  importId: number;
  territoryBbox?: [number, number, number, number];
  territoryName?: string;
  defaultSrsName?: string;
  xsd?: boolean;
  /** Rows per INSERT (rows that need a CRS transformation). */
  insertBatch?: number;
}

export interface ImportParseResult {
  report: ValidationReport;
  /** Features read (valid or not). */
  count: number;
  byClass: Record<string, number>;
  /** EmpriseEchangePCRS features with a geometry (the file's declared area). */
  emprises: number;
  /**
   * Convex hull (GeoJSON, EPSG:2154) of every stored geometry, when they all are in Lambert-93
   * (null otherwise: the database computes it after transforming them).
   */
  hull: GeoJsonHull | null;
}

type GeoJsonHull = NonNullable<ReturnType<ConvexHullAccumulator['result']>>;

/**
 * Validates `file` and hands its features to `write` as batches, in file order, while reading.
 * The last batches are only written when the file is valid (the caller rolls back otherwise).
 */
export async function parseGmlForImport(file: string, options: ImportParseOptions, write: (batch: FeatureBatch) => Promise<void>): Promise<ImportParseResult> {
  const batcher = new FeatureBatcher(options.versionId, options.importId, write, options.insertBatch);
  const byClass: Record<string, number> = {};
  let classCount = 0;
  let count = 0;
  let fileCrs: string | null = options.defaultSrsName ? crsOfDefault(options.defaultSrsName) : null;
  const hull = new ConvexHullAccumulator();
  let hullComplete = true;
  let emprises = 0;
  const addToHull = (p: number[]) => hull.add(p[0] as number, p[1] as number);
  const validateOptions: ValidateOptions = {
    ...(options.territoryBbox ? { territoryBbox: options.territoryBbox } : {}),
    ...(options.territoryName ? { territoryName: options.territoryName } : {}),
    ...(options.defaultSrsName ? { defaultSrsName: options.defaultSrsName } : {}),
    ...(options.xsd === false ? { xsd: false } : {}),
    onFeature: async (f) => {
      if (f.sourceCrs && !fileCrs) fileCrs = f.sourceCrs;
      // Bounded: a file with thousands of made-up class names counts the rest together.
      const key = Object.hasOwn(byClass, f.class) || classCount++ < MAX_CLASSES ? f.class : OTHER_CLASSES;
      byClass[key] = (byClass[key] ?? 0) + 1;
      count++;
      // Invalid features are rolled back with the file anyway: do not send them to SQL.
      if (f.issues?.some((i) => i.severity === 'error')) return;
      const row = featureRow(f, fileCrs);
      if (f.geometry) {
        if (f.class === 'EmpriseEchangePCRS') emprises++;
        if (row.srid === 2154) forEachPosition(f.geometry, addToHull);
        else hullComplete = false;
      }
      await batcher.add(row);
    },
  };
  const report = await validateGmlFile(file, validateOptions);
  if (report.valid) await batcher.flush();
  return { report, count, byClass, emprises, hull: hullComplete ? hull.result() : null };
}

function crsOfDefault(srs: string): string | null {
  const m = /(\d{4,5})\s*$/.exec(srs);
  return m ? `EPSG:${m[1]}` : null;
}

// --- Worker thread -------------------------------------------------------------------------------

/** Batches the worker may send before the calling thread has written them (bounded memory). */
export const WORKER_BATCHES_AHEAD = 4;

/** What a validation in the worker may be told (functions and signals do not cross threads). */
export type WorkerValidateOptions = Omit<ValidateOptions, 'onFeature' | 'signal'>;

export type WorkerRequest = { mode: 'import'; file: string; options: ImportParseOptions } | { mode: 'validate'; file: string; options: WorkerValidateOptions };
export type WorkerMessage =
  | { type: 'batch'; batch: FeatureBatch }
  | { type: 'done'; result: ImportParseResult }
  | { type: 'validated'; report: ValidationReport }
  | { type: 'error'; error: { message: string; userError?: { code: string; status: number; hint?: string; exitCode: number } } };

const WORKER_FILE = new URL('./gml-worker-thread.js', import.meta.url);
const workerAvailable = () => WORKER_FILE.protocol === 'file:' && existsSync(fileURLToPath(WORKER_FILE));

/** `validateGmlFile` in a worker thread (see above). */
export async function validateGmlFileInWorker(file: string, options: WorkerValidateOptions = {}): Promise<ValidationReport> {
  if (!workerAvailable()) return validateGmlFile(file, options);
  return runWorker({ mode: 'validate', file, options }, async () => undefined, (m) => (m.type === 'validated' ? m.report : null));
}

/**
 * `parseGmlForImport` in a worker thread (see above). `write` runs here, one batch at a time;
 * if it throws, the worker is stopped and the error rethrown.
 */
export async function parseGmlForImportInWorker(file: string, options: ImportParseOptions, write: (batch: FeatureBatch) => Promise<void>): Promise<ImportParseResult> {
  if (!workerAvailable()) return parseGmlForImport(file, options, write);
  return runWorker({ mode: 'import', file, options }, write, (m) => (m.type === 'done' ? m.result : null));
}

function runWorker<T>(request: WorkerRequest, write: (batch: FeatureBatch) => Promise<void>, resultOf: (m: WorkerMessage) => T | null): Promise<T> {
  const worker = new Worker(WORKER_FILE, { workerData: request });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    /** The worker sent its result: its exit is expected (the last batches may still be written). */
    let finished = false;
    // Batches are written strictly in order: each waits for the previous one.
    let chain: Promise<void> = Promise.resolve();
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(e);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'batch') {
        chain = chain.then(async () => {
          await write(m.batch);
          if (!settled) worker.postMessage('ack');
        });
        chain.catch(fail);
      } else if (m.type === 'error') {
        const u = m.error.userError;
        fail(u ? new UserError(u.code, m.error.message, { status: u.status, exitCode: u.exitCode, ...(u.hint ? { hint: u.hint } : {}) }) : new Error(m.error.message));
      } else {
        const result = resultOf(m) as T;
        finished = true;
        chain.then(() => {
          if (settled) return;
          settled = true;
          void worker.terminate();
          resolve(result);
        }, fail);
      }
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!finished) fail(new Error(`the GML import's worker thread stopped (exit code ${code})`));
    });
  });
}
