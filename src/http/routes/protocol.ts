import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { errors } from 'oidc-provider';
import type { ClientRecord } from '../../domain/applications/application.schema.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
import { authenticateClient, clientAuthError, isClientAuthFailure, readPresentedClient } from '../../oidc/client-auth.ts';
import { readForm } from '../../oidc/form-body.ts';
import { mayRevoke } from '../../oidc/introspection-policy.ts';
import { OIDC_ROUTES } from '../../oidc/routes.ts';
import type { TokenInspector } from '../../oidc/token-inspector.ts';

/**
 * POST /oauth/token        RFC 6749 §3.2: oidc/token-endpoint.ts in front of oidc-provider (the
 *                          fast path for plain client credentials requests, Gatehouse's own checks),
 *                          then oidc-provider for everything else. Mounted in front of the router
 *                          (the middleware returned below): route matching cost the busiest request
 *                          about 45 µs of CPU. Other methods: 405, or the library's CORS preflight.
 * POST /oauth/introspect   RFC 7662, answered by Gatehouse
 * POST /oauth/revoke       RFC 7009, answered by Gatehouse
 *
 * Introspection and revocation are Gatehouse's rather than oidc-provider's so that JWT access
 * tokens are covered too (oidc/token-inspector.ts explains why). Every other protocol route is
 * oidc-provider's (http/app.ts hands it what falls through, as far as oidc/surface.ts serves it).
 */
export interface ProtocolRouteDeps {
  applications: ApplicationService;
  inspector: TokenInspector;
  bodyLimitBytes: number;
  /** the token endpoint's handler in front of oidc-provider (oidc/token-endpoint.ts) */
  token: Middleware;
}

/**
 * The confidential client calling (client_secret_basic or client_secret_post, oidc/client-auth.ts);
 * every failure to authenticate is the same 401 `invalid_client`, so callers cannot probe which
 * client ids exist.
 */
async function authenticate(ctx: Context, form: Record<string, string>, applications: ApplicationService): Promise<ClientRecord> {
  const presented = readPresentedClient(ctx.headers.authorization, form);
  // For the throttle, which counts failures per presented id.
  ctx.state.presentedClientId = presented.clientId;
  const result = await authenticateClient(applications, presented);
  if (isClientAuthFailure(result)) throw clientAuthError(result);
  return result.client;
}

function requireToken(form: Record<string, string>): string {
  if (!form.token) throw new errors.InvalidRequest("missing required parameter 'token'");
  return form.token;
}

/**
 * Endpoints that only take POST (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1). Another method gets
 * 405 with `Allow` and an OAuth error body, not a 404 (the token endpoint is oidc-provider's and
 * would fall through) or Koa's text.
 */
function postOnly(preflight: 'oidc-provider' | 'none') {
  return async (ctx: Context, next: Next) => {
    if (ctx.method === 'POST') {
      // These endpoints answer JSON, errors included (RFC 6749 §5.1-5.2, RFC 7662 §2.2-2.3, RFC 7009
      // §2.2.1), whatever the client says it accepts: oidc-provider would render its HTML error page
      // for `Accept: text/html`.
      ctx.req.headers.accept = 'application/json';
      return next();
    }
    if (ctx.method === 'OPTIONS') {
      if (preflight === 'oidc-provider') return next();
      // No CORS: the preflight learns the methods only, so no browser sends the request cross-origin.
      ctx.set('Allow', 'POST, OPTIONS');
      ctx.status = 204;
      return;
    }
    ctx.set('Allow', 'POST');
    const err = new errors.InvalidRequest(`${ctx.method} is not supported here: use POST`);
    throw Object.assign(err, { status: 405, statusCode: 405 });
  };
}

/** Registers the routes above; returns POST /oauth/token's middleware, to mount in front of the router. */
export function registerProtocolRoutes(router: Router, { applications, inspector, bodyLimitBytes, token }: ProtocolRouteDeps): Middleware {
  // The token endpoint's preflight is oidc-provider's: CORS per application (oidc/cors.ts).
  router.all(OIDC_ROUTES.token, postOnly('oidc-provider'));
  // Introspection is for protected resources (RFC 7662 §2), revocation here for confidential clients'
  // backends (RFC 7009 §2.1 makes CORS a MAY, for user-agent-based clients): servers, not pages, so
  // neither answers CORS.
  router.all([OIDC_ROUTES.introspection, OIDC_ROUTES.revocation], postOnly('none'));

  router.post(OIDC_ROUTES.introspection, async (ctx) => {
    const form = await readForm(ctx, bodyLimitBytes);
    const client = await authenticate(ctx, form, applications);
    const token = requireToken(form);
    ctx.set('Cache-Control', 'no-store');
    // RFC 7662 §4: the answer depends on who asks (the token's own client, or a resource server
    // with the introspect right for its audience); the rights come with the cached client record.
    ctx.body = await inspector.introspect(token, form.token_type_hint, client);
  });

  router.post(OIDC_ROUTES.revocation, async (ctx) => {
    const form = await readForm(ctx, bodyLimitBytes);
    const client = await authenticate(ctx, form, applications);
    const token = requireToken(form);
    const found = await inspector.inspect(token, form.token_type_hint);
    // RFC 7009 §2.1: only the client the token was issued to may revoke it. Another client's token
    // is answered exactly as an unknown one (§2.2: not an error), with no more work than the lookup
    // both need, so the answer does not tell a caller that a token it holds is live.
    const parties = found && inspector.partiesOf(found);
    if (found && parties && mayRevoke(client, parties)) await inspector.revoke(found);
    ctx.status = 200;
    ctx.body = '';
  });

  // POST /oauth/token itself, for the app to mount in front of the router. Only that exact path:
  // other spellings the router would match (/OAUTH/TOKEN, /oauth/token/) go to oidc-provider as they are.
  return function tokenRoute(ctx: Context, next: Next) {
    return ctx.method === 'POST' && ctx.path === OIDC_ROUTES.token ? token(ctx, next) : next();
  };
}
