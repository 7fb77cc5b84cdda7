import type { Context, Next } from 'koa';
import { errors } from 'oidc-provider';
import { hasControlCharacters } from '../../lib/control-characters.ts';
import { readProviderForm } from '../../oidc/form-body.ts';
import { LOGOUT_PARAMETERS, type LogoutWithoutSession } from '../../oidc/logout-without-session.ts';
import type { ProtocolPages } from '../../oidc/protocol-pages.ts';
import { OIDC_ROUTES } from '../../oidc/routes.ts';

/**
 * GET or POST /oauth/logout from a browser in which nobody is signed in, answered without
 * oidc-provider, which would store a Session row to carry the request to its confirmation
 * (oidc/logout-without-session.ts says why and what is checked). The answer is a 303 to where the
 * confirmation would have led, or the error page; nothing is written. Any other logout — a
 * session cookie naming a signed-in session — goes on to oidc-provider as before.
 */
export function logoutWithoutSession(deps: { logout: LogoutWithoutSession; pages: ProtocolPages }) {
  return async function logoutWithoutSessionMiddleware(ctx: Context, next: Next): Promise<void> {
    // HEAD as GET (Koa's router answers it with the GET route: oidc-provider's too)
    if (ctx.path !== OIDC_ROUTES.end_session || !['GET', 'HEAD', 'POST'].includes(ctx.method)) return next();
    if (await deps.logout.hasSignedInSession(ctx)) return next();
    ctx.set('Cache-Control', 'no-store');
    let raw: Readonly<Record<string, string | readonly string[] | undefined>> = ctx.query;
    if (ctx.method === 'POST') {
      // Read as oidc-provider reads it; a body it would refuse to parse is left for it to refuse.
      const form = await readProviderForm(ctx);
      if (!form) return next();
      // answered here: the library never reads this body, so it is not handed back (`replay`)
      raw = form.params;
    }
    try {
      const known: Record<string, string | undefined> = {};
      const repeated: string[] = [];
      for (const name of LOGOUT_PARAMETERS) {
        const value = raw[name];
        if (typeof value !== 'string') {
          if (value !== undefined) repeated.push(name);
          continue;
        }
        if (hasControlCharacters(value)) throw new errors.InvalidRequest(`invalid ${name} parameter`);
        // oidc-provider reads an empty parameter as absent (lib/helpers/params.js)
        known[name] = value === '' ? undefined : value;
      }
      // lib/shared/reject_dupes.js
      if (repeated.length) {
        throw new errors.InvalidRequest(`${repeated.join(', ')} parameter${repeated.length > 1 ? 's' : ''} must not be provided twice`);
      }
      const to = await deps.logout.destination(known);
      ctx.status = 303;
      ctx.redirect(to);
    } catch (err) {
      if (!(err instanceof errors.OIDCProviderError)) throw err;
      ctx.status = err.status;
      await deps.pages.error(ctx, { error: err.error, error_description: err.error_description }, err);
    }
  };
}
