import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (`oidc-provider`) on loopback for the tests: one confidential client, the
 * accounts given, and an interaction endpoint that signs in whichever account the test chose
 * (what a user typing a password would do) and consents.
 */
export interface TestProvider {
  issuer: string;
  /** The account the next login interaction signs in. */
  nextAccount: string;
  close(): Promise<void>;
}

export async function startTestProvider(options: { clientId: string; clientSecret: string; redirectUri: string; accounts: Record<string, { email: string; name: string; emailVerified?: boolean }> }): Promise<TestProvider> {
  const handle: { provider?: Provider } = {};
  const server: Server = createServer((req, res) => {
    const provider = handle.provider as Provider;
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        try {
          const details = await provider.interactionDetails(req, res);
          if (details.prompt.name === 'login') {
            await provider.interactionFinished(req, res, { login: { accountId: state.nextAccount } }, { mergeWithLastSubmission: false });
            return;
          }
          const grant = new provider.Grant({ accountId: details.session?.accountId as string, clientId: String(details.params.client_id) });
          grant.addOIDCScope(String(details.params.scope));
          const grantId = await grant.save();
          await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        } catch (e) {
          res.statusCode = 500;
          res.end(String(e));
        }
      })();
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  handle.provider = new Provider(issuer, {
    clients: [{ client_id: options.clientId, client_secret: options.clientSecret, redirect_uris: [options.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
    async findAccount(_ctx: unknown, id: string) {
      const a = options.accounts[id];
      if (!a) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: a.email, email_verified: a.emailVerified ?? true, name: a.name }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    pkce: { required: () => true },
  });
  const state: TestProvider = {
    issuer,
    nextAccount: Object.keys(options.accounts)[0] as string,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return state;
}

/** Follows the provider's redirects like a browser (keeping its cookies) until one leaves for `until`. */
export async function followToClient(start: string, until: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = start;
  for (let i = 0; i < 20; i++) {
    if (url.startsWith(until)) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = (pair ?? '').indexOf('=');
      if (eq > 0) jar.set((pair as string).slice(0, eq).trim(), (pair as string).slice(eq + 1).trim());
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`the provider stopped at ${url} with ${res.status}: ${(await res.text()).slice(0, 500)}`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}
