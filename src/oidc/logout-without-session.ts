import type { Context } from 'koa';
import { errors, type Provider } from 'oidc-provider';
import { createBrowserSessionReader } from './browser-session.ts';

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) of a browser in which nobody is
 * signed in: there is no session to end, so nothing needs remembering between the request and its
 * confirmation.
 *
 * oidc-provider answers such a request with a self-submitting form to its confirmation endpoint,
 * and keeps the form's anti-forgery secret, the client, `state` and the post-logout URI in a new
 * Session row (lib/actions/end_session.js): every anonymous `GET /oauth/logout` wrote to the
 * database, ten minutes' worth of rows for a flood (issue 8, item 5: anonymous requests never
 * write). Here the same request is checked as the library checks it (§2: `id_token_hint`,
 * `client_id`, a registered `post_logout_redirect_uri`) and answered with where the library's
 * confirmation would have sent the browser (§3): the post-logout URI with `state`, or the
 * signed-out page. A browser whose session cookie names a signed-in session goes to the library.
 */
export interface LogoutWithoutSession {
  /** Whether this browser's session cookie names a stored session with someone signed in. */
  hasSignedInSession(ctx: Context): Promise<boolean>;
  /**
   * Where to send the browser (303) for these logout parameters, or the library's error for them
   * (InvalidRequest, InvalidClient) to be shown as the error page.
   */
  destination(params: Readonly<Record<string, string | undefined>>): Promise<string>;
}

/** The parameters of the end-session endpoint (lib/actions/end_session.js). */
export const LOGOUT_PARAMETERS = ['id_token_hint', 'post_logout_redirect_uri', 'state', 'ui_locales', 'client_id', 'logout_hint'] as const;

export function createLogoutWithoutSession(provider: () => Provider, signedOutPath: string): LogoutWithoutSession {
  const readSession = createBrowserSessionReader(provider);
  return {
    // The admin API's reader of the same cookie: signature checked, never saved, no lookup without it.
    hasSignedInSession: async (ctx) => (await readSession(ctx)) !== null,

    async destination(params) {
      const { Client, IdToken } = provider();
      let client: InstanceType<typeof Client> | undefined;
      if (params.id_token_hint !== undefined) {
        const audience = audienceOf(params.id_token_hint);
        if (params.client_id !== undefined && params.client_id !== audience) {
          throw new errors.InvalidRequest('client_id does not match the provided id_token_hint');
        }
        client = await Client.find(audience);
        if (!client) throw new errors.InvalidClient('unrecognized id_token_hint audience', 'client not found');
        try {
          await IdToken.validate(params.id_token_hint, client);
        } catch (cause) {
          if (cause instanceof errors.OIDCProviderError) throw cause;
          throw new errors.InvalidRequest('could not validate id_token_hint');
        }
      } else if (params.client_id !== undefined) {
        client = await Client.find(params.client_id);
        if (!client) throw new errors.InvalidClient('client is invalid', 'client not found');
      }
      const postLogout = client ? params.post_logout_redirect_uri : undefined;
      if (client && postLogout !== undefined && !client.postLogoutRedirectUriAllowed(postLogout)) {
        throw new errors.InvalidRequest('post_logout_redirect_uri not registered');
      }
      if (postLogout === undefined) return signedOutPath;
      // §3: the URI as registered, with the client's `state` added to its query.
      const to = new URL(postLogout);
      if (params.state !== undefined) to.searchParams.set('state', params.state);
      return to.href;
    },
  };
}

/** The `aud` of an ID token, unverified (it names the client whose keys verify it next). */
function audienceOf(idToken: string): string {
  try {
    const payload = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown };
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    if (typeof aud === 'string' && aud) return aud;
  } catch {}
  throw new errors.InvalidRequest('could not decode id_token_hint');
}
