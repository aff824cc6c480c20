import type { Finding } from './validate-dalle.js';

export interface DalleReport {
  /** Path relative to the delivery root. */
  file: string;
  bytes: number;
  status: 'ok' | 'warning' | 'rejected' | 'skipped';
  findings: Finding[];
  /** Grid cell `CRS:size:col:row`. */
  cell?: string;
  /** Catalogue name (from the georeferencing). */
  name?: string;
  sha256?: string;
  dalleId?: number;
  /** Key of the stored master. */
  master?: string;
}

export interface IngestReport {
  dataset: string;
  version: string;
  delivery: string;
  startedAt: string;
  finishedAt: string;
  jobId: number;
  summary: { files: number; ok: number; warning: number; rejected: number; skipped: number; ignored: number };
  dalles: DalleReport[];
  /** Files of the delivery that are not rasters (sidecars…). */
  ignored: string[];
  pyramid?: { filesBuilt: number; tiles: number; bytes: number };
  reportFiles: string[];
}

const LABEL: Record<DalleReport['status'], string> = { ok: 'OK      ', warning: 'WARNING ', rejected: 'REJECTED', skipped: 'SKIPPED ' };

/** The readable report: one block per dalle, problems first. */
export function formatIngestReport(report: IngestReport): string {
  const s = report.summary;
  const lines = [
    `Ingest report — dataset ${report.dataset}, version ${report.version}`,
    `Delivery: ${report.delivery}`,
    `Started ${report.startedAt}, finished ${report.finishedAt} (job ${report.jobId})`,
    '',
    `${s.files} file(s): ${s.ok} ok, ${s.warning} with warnings, ${s.rejected} rejected, ${s.skipped} skipped${s.ignored ? `; ${s.ignored} non-raster file(s) ignored` : ''}`,
  ];
  if (report.pyramid) lines.push(`Pyramid: ${report.pyramid.filesBuilt} file(s) built, ${report.pyramid.tiles} tiles, ${(report.pyramid.bytes / 1e6).toFixed(1)} MB`);
  const order: DalleReport['status'][] = ['rejected', 'warning', 'skipped', 'ok'];
  for (const status of order) {
    for (const d of report.dalles.filter((x) => x.status === status)) {
      lines.push('', `${LABEL[d.status]} ${d.file}${d.name && !d.file.endsWith(d.name) ? `  →  ${d.name}` : ''}`);
      for (const f of d.findings) lines.push(`  - [${f.severity}] ${f.rule}: ${f.message}`);
    }
  }
  if (report.ignored.length) lines.push('', 'Ignored (not rasters):', ...report.ignored.map((f) => `  ${f}`));
  return `${lines.join('\n')}\n`;
}
