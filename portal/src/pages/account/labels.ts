import type { MemberRole, MembershipStatus, OrganisationKind, Role, Scope } from '../../app/api.js';
import { t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';

/** Names of the API's enumerations in the user's language (one place for every screen). */
export const roleLabel = (r: Role): string => t(`role.${r}` as MessageKey);
export const memberRoleLabel = (r: MemberRole): string => roleLabel(r);
export const scopeLabel = (s: Scope): string => t(`scope.${s}` as MessageKey);
export const kindLabel = (k: OrganisationKind): string => t(`kind.${k}` as MessageKey);
export const statusLabel = (s: MembershipStatus): string => t(`membership.${s}` as MessageKey);
