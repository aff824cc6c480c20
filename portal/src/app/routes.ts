import type { Me } from './api.js';
import type { MessageKey } from './messages.js';
import type { Screen } from './screen.js';
import { canAdminister, isModerator, isPlatformAdmin } from './session.js';

export type { Screen, ScreenProps } from './screen.js';

export interface RouteDef {
  /** Path with `:name` segments, e.g. '/admin/organisations/:slug'. */
  path: string;
  /** The page's module, loaded when first shown (its own chunk: Vite splits on each import()). */
  load: () => Promise<{ default: Screen }>;
  title: MessageKey;
  /** Who may see it; the screen itself says why not to others. */
  access?: 'signedIn' | 'admin' | 'platformAdmin' | 'moderator';
}

/**
 * Every screen of the portal. Adding one: a module exporting a default component under pages/,
 * one line here, its strings in messages.ts (docs/portal.md, "Adding a screen").
 */
export const ROUTES: readonly RouteDef[] = [
  { path: '/carte', load: () => import('../pages/map/MapPage.js'), title: 'nav.map' },
  { path: '/connexion', load: () => import('../pages/auth/SignIn.js'), title: 'auth.signInTitle' },
  { path: '/inscription', load: () => import('../pages/auth/SignUp.js'), title: 'auth.signUpTitle' },
  { path: '/verifier', load: () => import('../pages/auth/Verify.js'), title: 'auth.verifyTitle' },
  { path: '/mot-de-passe-oublie', load: () => import('../pages/auth/Forgot.js'), title: 'auth.forgotTitle' },
  { path: '/reinitialiser', load: () => import('../pages/auth/Reset.js'), title: 'auth.resetTitle' },
  { path: '/compte', load: () => import('../pages/account/Profile.js'), title: 'account.profileTitle', access: 'signedIn' },
  { path: '/compte/cles', load: () => import('../pages/account/Keys.js'), title: 'keys.title', access: 'signedIn' },
  { path: '/compte/organisations', load: () => import('../pages/account/Organisations.js'), title: 'orgs.title', access: 'signedIn' },
  { path: '/declarations', load: () => import('../pages/declarations/DeclarationList.js'), title: 'decl.listTitle', access: 'signedIn' },
  { path: '/declarations/confirmer', load: () => import('../pages/declarations/Confirm.js'), title: 'confirm.title' },
  { path: '/declarations/stats', load: () => import('../pages/declarations/Stats.js'), title: 'stats.title', access: 'signedIn' },
  { path: '/declarations/:id', load: () => import('../pages/declarations/DeclarationPage.js'), title: 'decl.pageTitle', access: 'signedIn' },
  { path: '/extraits', load: () => import('../pages/extracts/ExtractList.js'), title: 'extracts.title', access: 'signedIn' },
  { path: '/extraits/nouveau', load: () => import('../pages/extracts/NewExtract.js'), title: 'extractNew.title', access: 'signedIn' },
  { path: '/extraits/:id', load: () => import('../pages/extracts/ExtractPage.js'), title: 'extract.pageTitle', access: 'signedIn' },
  { path: '/contributions', load: () => import('../pages/contributions/ContributionList.js'), title: 'contributions.title', access: 'signedIn' },
  { path: '/contributions/nouvelle', load: () => import('../pages/contributions/NewContribution.js'), title: 'contributionNew.title', access: 'signedIn' },
  { path: '/contributions/:id', load: () => import('../pages/contributions/ContributionPage.js'), title: 'contribution.pageTitleShort', access: 'signedIn' },
  { path: '/campagnes', load: () => import('../pages/campaigns/CampaignList.js'), title: 'campaigns.title' },
  { path: '/campagnes/nouvelle', load: () => import('../pages/campaigns/NewCampaign.js'), title: 'campaignNew.title', access: 'platformAdmin' },
  { path: '/campagnes/:slug', load: () => import('../pages/campaigns/CampaignPage.js'), title: 'campaign.pageTitle' },
  { path: '/statistiques', load: () => import('../pages/usage/Usage.js'), title: 'usage.title', access: 'signedIn' },
  { path: '/financement', load: () => import('../pages/financing/Financing.js'), title: 'financing.title', access: 'admin' },
  { path: '/triage', load: () => import('../pages/declarations/Triage.js'), title: 'triage.title', access: 'moderator' },
  { path: '/admin', load: () => import('../pages/admin/AdminHome.js'), title: 'admin.title', access: 'admin' },
  { path: '/admin/organisations', load: () => import('../pages/admin/AdminOrganisations.js'), title: 'admin.orgsTitle', access: 'admin' },
  { path: '/admin/organisations/:slug', load: () => import('../pages/admin/AdminMembers.js'), title: 'admin.membersTitle', access: 'admin' },
  { path: '/admin/utilisateurs', load: () => import('../pages/admin/AdminUsers.js'), title: 'admin.usersTitle', access: 'platformAdmin' },
  { path: '/admin/permissions', load: () => import('../pages/admin/AdminPermissions.js'), title: 'admin.permissionsTitle', access: 'admin' },
  { path: '/admin/visibilite', load: () => import('../pages/admin/AdminVisibility.js'), title: 'admin.visibilityTitle', access: 'platformAdmin' },
  { path: '/admin/journal', load: () => import('../pages/admin/AdminAudit.js'), title: 'admin.auditTitle', access: 'platformAdmin' },
];

export function allowed(route: RouteDef, user: Me | null): boolean {
  if (!route.access) return true;
  if (!user) return false;
  if (route.access === 'admin') return canAdminister(user);
  if (route.access === 'platformAdmin') return isPlatformAdmin(user);
  if (route.access === 'moderator') return isModerator(user);
  return true;
}
