import type { ContributionFileStatus, ContributionState } from '../../app/api.js';
import { t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';

export function ContributionStateBadge({ state }: { state: ContributionState }) {
  return <span class={`badge contribution-${state}`}>{t(`contribution.state.${state}` as MessageKey)}</span>;
}

export function FileStatusBadge({ status }: { status: ContributionFileStatus }) {
  return <span class={`badge file-${status}`}>{t(`contribution.fileStatus.${status}` as MessageKey)}</span>;
}
