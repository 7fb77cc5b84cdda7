import { DEVICE_CODE_GRANT, type GrantType } from '../domain/applications/application.schema.ts';
import { DISCOVERY_PATH, OAUTH_DISCOVERY_PATH, OIDC_ROUTES } from './routes.ts';

/**
 * The protocol surface this build serves: the one place the sign-in work (the people issue) turns
 * routes and grants on. Everything else derives from it: oidc-provider's features
 * (provider.ts), the gate in front of oidc-provider (http/middleware/served-routes.ts), discovery
 * (http/routes/well-known.ts) and the grant types clients may be registered for (the application
 * service refuses the others).
 *
 * Machines (client credentials) and people: the authorization endpoint with the sign-in pages
 * (http/routes/interaction.ts), UserInfo, RP-initiated logout and the device authorization grant
 * (RFC 8628: its endpoint, the verification pages of http/routes/device.tsx, and the device code
 * grant). Still off: pushed authorization requests.
 */
export type ProtocolRoute = keyof typeof OIDC_ROUTES;

export const SERVED_ROUTES: ReadonlySet<ProtocolRoute> = new Set<ProtocolRoute>([
  'authorization',
  'token',
  'introspection',
  'revocation',
  'userinfo',
  'end_session',
  'jwks',
  'device_authorization',
  'code_verification',
]);

/**
 * Grant types the token endpoint serves: RFC 6749 §4.4 client credentials, §4.1 the authorization
 * code (with PKCE, RFC 7636), §6 refresh tokens and RFC 8628 §3.4 the device code.
 */
export const SERVED_GRANT_TYPES: readonly GrantType[] = ['client_credentials', 'authorization_code', 'refresh_token', DEVICE_CODE_GRANT];

export const isServedRoute = (route: ProtocolRoute): boolean => SERVED_ROUTES.has(route);

/**
 * The paths oidc-provider may be asked to answer: each served route, with the paths under it
 * (`/oauth/authorize/:uid`, `/oauth/logout/confirm`…), and discovery (its CORS preflight), spelled
 * exactly as discovery spells them. oidc-provider's router would also match other spellings
 * (ASCII case folded, a trailing slash, doubled slashes), but everything in front of it — the
 * client-authentication throttle, the token fast path, the per-route policies — matches the
 * canonical path: another spelling would walk around them. No client needs one (RFC 8414 §3: the
 * endpoints are the metadata's URLs), so they get the 404 of an unknown route.
 */
const SERVED_PREFIXES: readonly string[] = [...[...SERVED_ROUTES].map((route) => OIDC_ROUTES[route]), DISCOVERY_PATH, OAUTH_DISCOVERY_PATH];

export function isServedPath(path: string): boolean {
  if (path.endsWith('/') || path.includes('//')) return false;
  return SERVED_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}
