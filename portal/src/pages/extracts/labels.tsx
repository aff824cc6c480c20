import type { Extract, ExtractState } from '../../app/api.js';
import { language$, t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';

/** Names of an extract's state, contents and area kind, and its size, for the extract screens. */

export function ExtractStateBadge({ state }: { state: ExtractState }) {
  return <span class={`badge extract-${state}`}>{t(`extract.state.${state}` as MessageKey)}</span>;
}

export const contentsText = (e: Pick<Extract, 'contents'>): string => e.contents.map((c) => t(`extract.content.${c}` as MessageKey)).join(', ');

/** "3 min" / "45 s": the time left a job estimates. */
export function formatEta(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return null;
  return seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${Math.max(1, Math.round(seconds))} s`;
}

/** An area in the user's language: m² under a tenth of a km² (a street's works), km² above. */
export function formatKm2(km2: number | null | undefined): string {
  if (km2 === null || km2 === undefined) return '—';
  const locale = language$.get() === 'fr' ? 'fr-FR' : 'en-GB';
  if (km2 < 0.1) return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(km2 * 1e6)} m²`;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: km2 < 10 ? 2 : 1 }).format(km2)} km²`;
}
