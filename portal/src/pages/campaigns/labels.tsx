import type { CampaignDalleState, CampaignStatus } from '../../app/api.js';
import { t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';

export const campaignStatusText = (s: CampaignStatus): string => t(`campaign.status.${s}` as MessageKey);

export function CampaignStatusBadge({ status }: { status: CampaignStatus }) {
  return <span class={`badge campaign-${status}`}>{campaignStatusText(status)}</span>;
}

/** Colours of the dalles on the campaign's map, by state (and for those delivered outside the area). */
export const DALLE_COLOURS: Readonly<Record<CampaignDalleState | 'outside' | 'changed', string>> = {
  expected: '#9e9e9e',
  received: '#1e6fd9',
  accepted: '#2e7d32',
  rejected: '#c62828',
  outside: '#ef6c00',
  changed: '#d50000',
};
