import type Router from '@koa/router';
import { errors } from 'oidc-provider';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
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

export function registerProtocolRoutes(router: Router, { applications, inspector, bodyLimitBytes }: ProtocolRouteDeps): void {
  router.post(OIDC_ROUTES.introspection, async (ctx) => {
    const form = await readForm(ctx, bodyLimitBytes);
    await authenticateClient(ctx, form, applications);
    const token = requireToken(form);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await inspector.introspect(token, form.token_type_hint);
  });

  router.post(OIDC_ROUTES.revocation, async (ctx) => {
    const form = await readForm(ctx, bodyLimitBytes);
    const client = await authenticateClient(ctx, form, applications);
    const token = requireToken(form);
    const found = await inspector.inspect(token, form.token_type_hint);
    // RFC 7009 §2.2: an unknown or invalid token is not an error.
    if (found) {
      // RFC 7009 §2.1: only the client the token was issued to may revoke it.
      if (inspector.ownerOf(found) !== client.clientId) {
        throw new errors.UnauthorizedClient('this token was not issued to the authenticated client');
      }
      await inspector.revoke(found);
    }
    ctx.status = 200;
    ctx.body = '';
  });
}
