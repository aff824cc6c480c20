import { DECLARATION_STATUSES, type DeclarationStatus, type DeclarationType, type WorksTheme } from '../../app/api.js';
import { t } from '../../app/i18n.js';

/**
 * How declarations are named and coloured on every screen (map, legend, lists, triage). Plain
 * data and the catalogue: no OpenLayers, so that list screens stay small.
 */
export const STATUS_COLOURS: Readonly<Record<DeclarationStatus, string>> = {
  submitted: '#d62728',
  acknowledged: '#ff7f0e',
  'in-progress': '#1f6fb4',
  resolved: '#2ca02c',
  rejected: '#6b6b6b',
  duplicate: '#9467bd',
};

export const statusText = (s: DeclarationStatus): string => t(`declStatus.${s}`);
export const typeText = (s: DeclarationType): string => t(`declType.${s}`);
export const themeText = (s: WorksTheme): string => t(`theme.${s}`);

/** The colour legend of the statuses (map page, triage). */
export function StatusLegend() {
  return (
    <ul class="status-legend" aria-label={t('declLayer.legend')}>
      {DECLARATION_STATUSES.map((s) => (
        <li key={s}>
          <span class="swatch" style={{ background: STATUS_COLOURS[s] }} aria-hidden="true" /> {statusText(s)}
        </li>
      ))}
    </ul>
  );
}

/** A status as a coloured badge. */
export function StatusBadge({ status }: { status: DeclarationStatus }) {
  return (
    <span class="decl-status" style={{ borderColor: STATUS_COLOURS[status] }}>
      <span class="swatch" style={{ background: STATUS_COLOURS[status] }} aria-hidden="true" /> {statusText(status)}
    </span>
  );
}
