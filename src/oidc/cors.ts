import type { KoaContextWithOIDC } from 'oidc-provider';
import { extraClientMetadata } from './internals.ts';

/**
 * CORS at oidc-provider's endpoints that take a client (here only the token endpoint):
 * https://github.com/panva/node-oidc-provider/tree/main/docs#clientbasedcors
 *
 * A cross-origin request is answered for a browser only if its application lists the `Origin` in
 * `allowed_origins` (`gatehouse clients create --allowed-origin`); none does by default, so a page
 * on another site can never read a token response. The check runs once the client is known, before
 * any token is issued; a refused origin gets `invalid_request` without `Access-Control-Allow-Origin`.
 * The preflight names no client, so it is answered for any origin: it lets the browser send the
 * request, not read the answer.
 */
export const ALLOWED_ORIGINS_METADATA = 'allowed_origins';

export function clientBasedCORS(_ctx: KoaContextWithOIDC, origin: string, client: object): boolean {
  const allowed = extraClientMetadata(client, ALLOWED_ORIGINS_METADATA);
  return Array.isArray(allowed) && allowed.includes(origin);
}
