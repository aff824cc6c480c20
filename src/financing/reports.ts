import ExcelJS from 'exceljs';
import PDFDocument from 'pdfkit';
import type { Plan } from './model.js';

/**
 * The plan as the committee files it: a spreadsheet (XLSX, exceljs: three sheets — the six lines,
 * the shares and balances per partner, every figure's sources) and a printable PDF (pdfkit, A4,
 * the committee's headings). Both are built from the same `Plan` as the JSON and the CSV.
 */

const EUR_FORMAT = '#,##0.00 "€";[Red]-#,##0.00 "€"';

export async function planToXlsx(plan: Plan): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.creator = 'Plateforme PCRS';
  book.created = new Date();

  const lines = book.addWorksheet(`Plan ${plan.year}`);
  lines.columns = [
    { header: 'Ligne', key: 'title', width: 18 },
    { header: 'Coût (€)', key: 'cost', width: 16, style: { numFmt: EUR_FORMAT } },
    { header: 'Subventions (€)', key: 'subsidies', width: 16, style: { numFmt: EUR_FORMAT } },
    { header: 'À répartir (€)', key: 'toShare', width: 16, style: { numFmt: EUR_FORMAT } },
    { header: 'Clé de répartition', key: 'key', width: 30 },
    { header: 'Non réparti (€)', key: 'unallocated', width: 16, style: { numFmt: EUR_FORMAT } },
  ];
  for (const l of plan.lines) lines.addRow({ title: l.title, cost: l.cost, subsidies: l.subsidies, toShare: l.toShare, key: l.key?.title ?? '—', unallocated: l.unallocated?.amountEur ?? 0 });
  lines.addRow({ title: 'Total', cost: plan.totals.cost, subsidies: plan.totals.subsidies, toShare: plan.totals.toShare, key: '', unallocated: plan.totals.toShare - plan.totals.allocated }).font = { bold: true };
  lines.getRow(1).font = { bold: true };

  const partners = book.addWorksheet('Partenaires');
  partners.columns = [
    { header: 'Partenaire', key: 'name', width: 28 },
    ...plan.lines.map((l) => ({ header: `${l.title} (€)`, key: l.line, width: 15, style: { numFmt: EUR_FORMAT } })),
    { header: 'Dû (€)', key: 'due', width: 15, style: { numFmt: EUR_FORMAT } },
    { header: 'Versé (€)', key: 'paid', width: 15, style: { numFmt: EUR_FORMAT } },
    { header: 'En nature (€)', key: 'inKind', width: 15, style: { numFmt: EUR_FORMAT } },
    { header: 'Solde (€)', key: 'balance', width: 15, style: { numFmt: EUR_FORMAT } },
  ];
  for (const p of plan.partners) {
    partners.addRow({ name: p.organisation.name, ...Object.fromEntries(plan.lines.map((l) => [l.line, p.shares[l.line] ?? 0])), due: p.due, paid: p.paid, inKind: p.inKind, balance: p.balance });
  }
  partners.getRow(1).font = { bold: true };

  const sources = book.addWorksheet('Sources');
  sources.columns = [
    { header: 'Ligne', key: 'line', width: 16 },
    { header: 'Nature', key: 'nature', width: 14 },
    { header: 'Libellé', key: 'label', width: 70 },
    { header: 'Source', key: 'ref', width: 26 },
    { header: 'Montant (€)', key: 'amount', width: 16, style: { numFmt: EUR_FORMAT } },
  ];
  for (const l of plan.lines) {
    for (const s of l.costSources) sources.addRow({ line: l.title, nature: 'coût', label: s.label, ref: s.ref, amount: s.amountEur });
    for (const s of l.subsidySources) sources.addRow({ line: l.title, nature: 'subvention', label: s.label, ref: s.ref, amount: -s.amountEur });
  }
  for (const p of plan.partners) {
    for (const s of p.paidSources) sources.addRow({ line: 'Solde', nature: 'versé', label: `${p.organisation.name} : ${s.label}`, ref: s.ref, amount: s.amountEur });
    for (const s of p.inKindSources) sources.addRow({ line: 'Solde', nature: 'en nature', label: `${p.organisation.name} : ${s.label}`, ref: s.ref, amount: s.amountEur });
  }
  for (const w of plan.warnings) sources.addRow({ line: 'Remarque', nature: '', label: w, ref: '', amount: null });
  sources.getRow(1).font = { bold: true };
  return Buffer.from(await book.xlsx.writeBuffer());
}

// French groups thousands with U+202F, which the PDF's standard fonts (WinAnsi) lack: a no-break space they have.
const euros = (v: number) => `${v.toLocaleString('fr-FR', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).replace(/\u202f/g, '\u00a0')}\u00a0€`;

/** A4 portrait, the committee's headings: the six lines, the partners' shares and balances, remarks, sources. */
export async function planToPdf(plan: Plan, territory: string): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 48, info: { Title: `Plan de financement du PCRS ${plan.year}`, Author: 'Plateforme PCRS' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  /** One row of a table: the first cell (and those `textCols` name) left-aligned, the amounts right-aligned. */
  const row = (cells: string[], widths: number[], bold = false, textCols: readonly number[] = []) => {
    if (doc.y > doc.page.height - doc.page.margins.bottom - 20) doc.addPage();
    const y = doc.y;
    let x = left;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
    let height = 0;
    cells.forEach((c, i) => {
      const w = widths[i] as number;
      doc.text(c, x, y, { width: w - 6, align: i === 0 || textCols.includes(i) ? 'left' : 'right' });
      height = Math.max(height, doc.y - y);
      x += w;
    });
    doc.y = y + height + 3;
  };
  const heading = (text: string) => {
    doc.moveDown(0.8);
    doc.x = left;
    doc.font('Helvetica-Bold').fontSize(13).text(text, left, doc.y, { width });
    doc.moveDown(0.3);
  };

  doc.font('Helvetica-Bold').fontSize(18).text(`Plan de financement du PCRS — ${plan.year}`, { width });
  doc.font('Helvetica').fontSize(10).text(`${territory} · commission financière · établi le ${new Date().toLocaleDateString('fr-FR')} · montants en euros`, { width });

  heading('1. Les six lignes du plan');
  // The key's column is text: a gap, then left-aligned.
  const lw = [110, 95, 95, 95, 12, width - 407];
  row(['Ligne', 'Coût', 'Subventions', 'À répartir', '', 'Clé de répartition'], lw, true, [5]);
  for (const l of plan.lines) row([l.title, euros(l.cost), euros(l.subsidies), euros(l.toShare), '', l.key?.title ?? (l.toShare > 0 ? 'aucune : non réparti' : '—')], lw, false, [5]);
  row(['Total', euros(plan.totals.cost), euros(plan.totals.subsidies), euros(plan.totals.toShare), '', `réparti : ${euros(plan.totals.allocated)}`], lw, true, [5]);

  heading('2. Parts et soldes des partenaires');
  const pw = [width - 4 * 90, 90, 90, 90, 90];
  row(['Partenaire', 'Dû', 'Versé', 'En nature', 'Solde'], pw, true);
  for (const p of plan.partners) row([p.organisation.name, euros(p.due), euros(p.paid), euros(p.inKind), euros(p.balance)], pw);
  if (plan.partners.length === 0) row(['Aucun partenaire cette année.', '', '', '', ''], pw);

  if (plan.warnings.length) {
    heading('3. Remarques');
    doc.font('Helvetica').fontSize(9);
    for (const w of plan.warnings) doc.text(`• ${w}`, left, doc.y, { width });
  }

  heading(`${plan.warnings.length ? 4 : 3}. Sources des montants`);
  const sw = [width - 190, 100, 90];
  row(['Libellé', 'Source', 'Montant'], sw, true);
  for (const l of plan.lines) {
    for (const s of l.costSources) row([`${l.title} — ${s.label}`, s.ref, euros(s.amountEur)], sw);
    for (const s of l.subsidySources) row([`${l.title} — ${s.label}`, s.ref, euros(-s.amountEur)], sw);
  }
  for (const p of plan.partners) for (const s of [...p.paidSources, ...p.inKindSources]) row([`${p.organisation.name} — ${s.label}`, s.ref, euros(s.amountEur)], sw);
  doc.end();
  return done;
}
