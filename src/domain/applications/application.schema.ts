import { z } from 'zod';
import { ResourceIdentifier, ScopeToken } from '../api-resources/api-resource.schema.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export const GrantType = z.enum(['client_credentials', 'authorization_code', 'refresh_token', DEVICE_CODE_GRANT]);
export type GrantType = z.infer<typeof GrantType>;

export const ClientType = z.enum(['confidential', 'public']);
export type ClientType = z.infer<typeof ClientType>;

/** RFC 6749 §3.1.2: absolute URI, no fragment. http only for loopback (RFC 8252 §7.3). */
export const RedirectUri = z
  .string()
  .max(2048)
  .refine((v) => {
    const url = URL.parse(v);
    if (!url || v.includes('#')) return false;
    if (url.protocol === 'http:') return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    return true;
  }, 'must be an absolute URI without a fragment; plain http only for loopback hosts');

/**
 * A browser origin allowed to call the token endpoint for an application (CORS): exactly as
 * browsers send it in `Origin` (RFC 6454 §6.2), scheme://host[:port] with no path, lower case, no
 * default port. https only, but for loopback hosts (as redirect URIs).
 */
export const AllowedOrigin = z
  .string()
  .max(2048)
  .refine((v) => {
    const url = URL.parse(v);
    if (!url || url.origin !== v) return false;
    if (url.protocol === 'http:') return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    return url.protocol === 'https:';
  }, 'must be an origin as browsers send it: https://host[:port], lower case, no path (plain http only for loopback hosts)');

export const ApiGrant = z.object({
  identifier: ResourceIdentifier,
  /** the API's scopes this application may request; all of them if omitted */
  scopes: z.array(ScopeToken).optional(),
  /** RFC 7662 §4: may introspect tokens issued for this API to any client (a resource server) */
  introspect: z.boolean().optional(),
});
export type ApiGrant = z.infer<typeof ApiGrant>;

export const CreateApplication = z.object({
  name: z.string().trim().min(1).max(200),
  clientType: ClientType.default('confidential'),
  grantTypes: z.array(GrantType).min(1).default(['client_credentials']),
  redirectUris: z.array(RedirectUri).max(50).default([]),
  /** browser origins allowed to call the token endpoint (CORS); none by default */
  allowedOrigins: z.array(AllowedOrigin).max(50).default([]),
  /** where RP-initiated logout may send a person afterwards (exact match); none by default */
  postLogoutRedirectUris: z.array(RedirectUri).max(50).default([]),
  apis: z.array(ApiGrant).max(100).default([]),
  skipAuthorization: z.boolean().default(false),
  /** the user who owns it (`users.id`): they, and their organisations' admins, manage it */
  ownerUserId: z.string().min(1).max(64).nullable().default(null),
  /** the organisation it belongs to (`organizations.id`), whose admins manage it */
  organizationId: z.string().min(1).max(64).nullable().default(null),
});
export type CreateApplication = z.input<typeof CreateApplication>;

export interface GrantedApi {
  identifier: string;
  scopes: string[];
  /** may introspect tokens whose audience is this API, whichever client they were issued to */
  introspect: boolean;
}

export const UpdateApplication = z.object({
  clientId: z.string().min(1),
  name: z.string().trim().min(1).max(200).optional(),
  /**
   * replaces every API grant when given; an API the application already had keeps its scopes and
   * introspect right where the new grant leaves them out, a new one gets all of the API's scopes
   */
  apis: z.array(ApiGrant).max(100).optional(),
  /** sets the introspect right on every granted API (after `apis`, when both are given) */
  introspect: z.boolean().optional(),
  /** replaces the browser origins allowed to call the token endpoint (CORS) when given; [] clears them */
  allowedOrigins: z.array(AllowedOrigin).max(50).optional(),
  /** replaces the redirect URIs when given */
  redirectUris: z.array(RedirectUri).max(50).optional(),
  /** replaces the post-logout redirect URIs when given; [] clears them */
  postLogoutRedirectUris: z.array(RedirectUri).max(50).optional(),
  skipAuthorization: z.boolean().optional(),
  /** moves it to another organisation (`organizations.id`), or out of any with null */
  organizationId: z.string().min(1).max(64).nullable().optional(),
});
export type UpdateApplication = z.input<typeof UpdateApplication>;

/** An application as shown to operators: never carries its secret or the secret's digest. */
export interface Application {
  id: string;
  clientId: string;
  name: string;
  clientType: ClientType;
  grantTypes: GrantType[];
  redirectUris: string[];
  /** browser origins allowed to call the token endpoint (CORS) */
  allowedOrigins: string[];
  /** where RP-initiated logout may send a person afterwards */
  postLogoutRedirectUris: string[];
  skipAuthorization: boolean;
  isActive: boolean;
  /** the owner (`users.id`), or null (registered before owners existed, or the owner was deleted) */
  ownerUserId: string | null;
  organizationId: string | null;
  apis: GrantedApi[];
  /** first characters of the current secret, to tell secrets apart; null for public clients */
  secretHint: string | null;
  secretRotatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What client authentication needs: the application plus its secret digest. */
export interface ClientRecord extends Application {
  clientSecretDigest: string | null;
}

export const ApplicationOrder = z.enum(['name', '-name', 'created', '-created']);
export type ApplicationOrder = z.infer<typeof ApplicationOrder>;

/** What a list of applications may be narrowed to (all optional). */
export interface ApplicationFilter {
  clientId?: string | undefined;
  name?: string | undefined;
  ownerUserId?: string | undefined;
  organizationId?: string | undefined;
}

/**
 * Which applications a caller reaches: every one, or those they own, those of the organisations
 * they administer, and those owned by those organisations' members.
 */
export type ApplicationReach = { all: true } | { all: false; userId: string; adminOf: readonly string[] };

/** What an application's listing shows beside it: its owner and its API tokens (masked). */
export interface ApplicationSummary {
  owner: { id: string; username: string } | null;
  tokenCount: number;
  /** the most recent tokens bound to it (at most 10): ids, names and scopes only */
  tokens: { id: string; name: string; scope: 'read' | 'write'; createdAt: Date }[];
}
