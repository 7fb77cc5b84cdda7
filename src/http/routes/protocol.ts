import type Router from '@koa/router';
import { errors } from 'oidc-provider';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
import { mayRevoke } from '../../oidc/introspection-policy.ts';
import { OIDC_ROUTES } from '../../oidc/routes.ts';
import type { TokenInspector } from '../../oidc/token-inspector.ts';
import { authenticateClient } from '../client-authentication.ts';
import { readForm } from '../form-body.ts';

/**
 * POST /oauth/introspect   RFC 7662
 * POST /oauth/revoke       RFC 7009
 *
 * Served by Gatehouse rather than oidc-provider so that JWT access tokens are covered too
 * (oidc-provider/token-inspector.ts explains why).
 */
export interface ProtocolRouteDeps {
  applications: ApplicationService;
  inspector: TokenInspector;
  bodyLimitBytes: number;
}

function requireToken(form: Record<string, string>): string {
  if (!form.token) throw new errors.InvalidRequest("missing required parameter 'token'");
  return form.token;
}

/** Endpoints that only take POST (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1). */
const POST_ONLY = [OIDC_ROUTES.token, OIDC_ROUTES.introspection, OIDC_ROUTES.revocation];

export function registerProtocolRoutes(router: Router, { applications, inspector, bodyLimitBytes }: ProtocolRouteDeps): void {
  // Another method gets 405 with `Allow` and an OAuth error body, not a 404 (the token endpoint is
  // oidc-provider's and would fall through) or Koa's text. OPTIONS stays with the CORS preflight.
  router.all(POST_ONLY, async (ctx, next) => {
    if (ctx.method === 'POST') {
      // These endpoints answer JSON, errors included (RFC 6749 §5.1-5.2, RFC 7662 §2.2-2.3, RFC 7009
      // §2.2.1), whatever the client says it accepts: oidc-provider would render its HTML error page
      // for `Accept: text/html`.
      ctx.req.headers.accept = 'application/json';
      return next();
    }
    if (ctx.method === 'OPTIONS') return next();
    ctx.set('Allow', 'POST');
    const err = new errors.InvalidRequest(`${ctx.method} is not supported here: use POST`);
    throw Object.assign(err, { status: 405, statusCode: 405 });
  });

  router.post(OIDC_ROUTES.introspection, async (ctx) => {
    const form = await readForm(ctx, bodyLimitBytes);
    const client = await authenticateClient(ctx, form, applications);
    const token = requireToken(form);
    ctx.set('Cache-Control', 'no-store');
    // RFC 7662 §4: the answer depends on who asks (the token's own client, or a resource server
    // with the introspect right for its audience); the rights come with the cached client record.
    ctx.body = await inspector.introspect(token, form.token_type_hint, client);
  });

  router.post(OIDC_ROUTES.revocation, async (ctx) => {
    const form = await readForm(ctx, bodyLimitBytes);
    const client = await authenticateClient(ctx, form, applications);
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
}
