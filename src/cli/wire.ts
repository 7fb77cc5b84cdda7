import type { ApiResource } from '../domain/api-resources/api-resource.schema.ts';
import type { Application } from '../domain/applications/application.schema.ts';
import type { SigningKeyInfo } from '../domain/signing-keys/signing-key.schema.ts';

/** snake_case views of domain objects for `--json` output (wire fields keep the specs' names). */

/** A date as ISO 8601 (results that crossed the control socket carry dates as strings). */
export const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function apiToWire(api: ApiResource) {
  return {
    identifier: api.identifier,
    name: api.name,
    scopes: api.scopes,
    signing_alg: api.signingAlg,
    access_token_format: api.accessTokenFormat,
    access_token_ttl_seconds: api.accessTokenTtlSeconds,
    created_at: iso(api.createdAt),
  };
}

export function applicationToWire(app: Application, clientSecret?: string | null) {
  return {
    client_id: app.clientId,
    ...(clientSecret ? { client_secret: clientSecret } : {}),
    name: app.name,
    client_type: app.clientType,
    grant_types: app.grantTypes,
    redirect_uris: app.redirectUris,
    allowed_origins: app.allowedOrigins,
    apis: app.apis,
    is_active: app.isActive,
    secret_hint: app.secretHint,
    secret_rotated_at: iso(app.secretRotatedAt),
    created_at: iso(app.createdAt),
  };
}

export function keyToWire(key: SigningKeyInfo) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: iso(key.createdAt),
    signs_from: iso(key.signsFrom ?? key.createdAt),
    rotated_at: iso(key.rotatedAt),
    retire_after: iso(key.retireAfter),
    revoked_at: iso(key.revokedAt),
  };
}
