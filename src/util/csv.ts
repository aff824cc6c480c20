/**
 * CSV as spreadsheets read it (RFC 4180, CRLF). A text cell a spreadsheet would run as a formula
 * (=, +, -, @ first) is prefixed with a quote.
 */
export type CsvValue = string | number | null;

export function csvCell(v: CsvValue): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A header line and one line per row. */
export function csvText(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
