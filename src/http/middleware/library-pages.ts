import type { Context, Next } from 'koa';
import { resolvedClientOf } from '../../oidc/internals.ts';
import { pageContentSecurityPolicy } from '../pages/security-headers.ts';

/**
 * The headers of the few HTML answers oidc-provider writes itself rather than through Gatehouse's
 * pages: the auto-submitting form of `response_mode=form_post` (OAuth 2.0 Form Post Response Mode)
 * and of a logout without a signed-in session (lib/response_modes/form_post.js). Each carries one
 * inline script, whose SHA-256 the library adds to the `script-src` directive of the answer's
 * Content-Security-Policy when it has one (lib/helpers/script_src_sha.js); the strict policy every
 * answer gets (security-headers.ts) has none and forbids form posts, so the form would never be
 * sent. Here the authorization and logout routes get the pages' policy plus `script-src 'self'`
 * (no script is served from this origin: in practice only that one hashed script runs) and, once
 * the library knows the client, `form-action` widened to where that form posts: the client's
 * redirect URIs or post-logout redirect URIs.
 */
export function libraryPageHeaders(paths: readonly string[]) {
  // Paths as discovery spells them: served-routes.ts answers every other spelling before this runs.
  const applies = (path: string) => paths.some((p) => path === p || path.startsWith(`${p}/`));
  return async function libraryPageHeadersMiddleware(ctx: Context, next: Next): Promise<void> {
    if (!applies(ctx.path)) return next();
    ctx.set('Content-Security-Policy', `${pageContentSecurityPolicy()}; script-src 'self'`);
    await next();
    const policy = ctx.response.get('Content-Security-Policy');
    const client = resolvedClientOf(ctx);
    if (!ctx.response.is('html') || !client || typeof policy !== 'string') return;
    const scriptSrc = policy.split(';').find((d) => d.trim().startsWith('script-src'));
    // A page Gatehouse rendered (sendPage) set its own policy, without script-src: leave it.
    if (!scriptSrc) return;
    const formActions = [...(client.redirectUris ?? []), ...(client.postLogoutRedirectUris ?? [])];
    ctx.set('Content-Security-Policy', `${pageContentSecurityPolicy({ formActions })}; ${scriptSrc.trim()}`);
  };
}
