import { api, type Me, type SessionInfo } from './api.js';
import { createStore, useStore } from './store.js';

/**
 * Who is signed in, as GET /api/v1/auth/session says (null until it answered). `available` is
 * false when the server has no accounts API (a platform without the accounts capability): the
 * portal then shows the map only, without sign-in links.
 */
export interface SessionState {
  loaded: boolean;
  available: boolean;
  user: Me | null;
  signup: boolean;
  oidc: { label: string } | null;
}

export const session$ = createStore<SessionState>({ loaded: false, available: false, user: null, signup: false, oidc: null });

export async function refreshSession(): Promise<SessionState> {
  let next: SessionState;
  try {
    const s: SessionInfo = await api.session();
    next = { loaded: true, available: true, user: s.user, signup: s.signup, oidc: s.oidc };
  } catch {
    next = { loaded: true, available: false, user: null, signup: false, oidc: null };
  }
  session$.set(next);
  return next;
}

// A 401 on a signed-in screen: the session ended (expired, signed out everywhere, disabled) — say so in the header too.
api.onUnauthenticated = () => {
  if (session$.get().user) void refreshSession();
};

export function setSignedIn(user: Me | null): void {
  session$.set({ ...session$.get(), loaded: true, available: true, user });
}

export const useSession = (): SessionState => useStore(session$);

export const isPlatformAdmin = (user: Me | null): boolean => !!user && (user.roles.includes('platform-admin') || user.platformRoles.includes('platform-admin'));
/** Organisations the user administers (active org-admin memberships). */
export const administeredOrganisations = (user: Me | null) => (user?.organisations ?? []).filter((o) => o.status === 'active' && o.role === 'org-admin');
export const canAdminister = (user: Me | null): boolean => isPlatformAdmin(user) || administeredOrganisations(user).length > 0;
/** Moderators of declarations (platform role `moderator`, or the platform admin). */
export const isModerator = (user: Me | null): boolean =>
  !!user && (isPlatformAdmin(user) || user.roles.includes('moderator') || user.platformRoles.includes('moderator'));
