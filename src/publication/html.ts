import { xmlEscape } from '../util/xml.js';

/** The tree's index pages: plain HTML, no script, relative links (a mirror keeps working offline). */

export interface IndexRow {
  href: string;
  label: string;
  size?: number;
  date?: string | null;
  sha256?: string;
}

const units = ['o', 'Kio', 'Mio', 'Gio', 'Tio'];
function humanSize(bytes: number): string {
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export function indexPage(title: string, intro: string, rows: readonly IndexRow[], parent: boolean): string {
  const e = xmlEscape;
  const detailed = rows.some((r) => r.size !== undefined);
  const head = detailed ? '<tr><th>Fichier</th><th>Taille</th><th>Date</th><th>SHA-256</th></tr>' : '<tr><th>Nom</th></tr>';
  const body = rows
    .map((r) =>
      detailed
        ? `<tr><td><a href="${e(r.href)}">${e(r.label)}</a></td><td data-bytes="${r.size ?? ''}">${r.size === undefined ? '' : humanSize(r.size)}</td><td>${e(r.date ?? '')}</td><td><code>${e(r.sha256 ?? '')}</code></td></tr>`
        : `<tr><td><a href="${e(r.href)}">${e(r.label)}</a></td></tr>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>${e(title)}</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left;border-bottom:1px solid #ddd}code{font-size:.8em}</style></head>
<body>
<h1>${e(title)}</h1>
<p>${intro}</p>
${parent ? '<p><a href="../">Dossier parent</a></p>\n' : ''}<table>
${head}
${body}
</table>
</body>
</html>
`;
}
