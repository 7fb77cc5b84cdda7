import type { ClientMetadata } from 'oidc-provider';
import { type ClientRecord, DEVICE_CODE_GRANT } from '../domain/applications/application.schema.ts';
import { ALLOWED_ORIGINS_METADATA } from './cors.ts';

/**
 * Maps an application to oidc-provider client metadata.
 *
 * `client_secret` carries the secret's keyed digest, never the secret: oidc-provider needs a value
 * to accept secret-based authentication, and our `compareClientSecret` (see provider.ts) digests
 * the presented secret and compares digests. HMAC-based algorithms, which would need the plain
 * secret as a key, are disabled.
 *
 * A client of the code flow gets its exact redirect URIs (oidc-provider compares them as strings,
 * RFC 9700 §2.1) and its post-logout redirect URIs; it and a device client (RFC 8628) get
 * `require_auth_time` (every ID token says when the person signed in, OIDC Core §2).
 */
export function toClientMetadata(record: ClientRecord, enabledGrantTypes: ReadonlySet<string>): ClientMetadata {
  const grantTypes = record.grantTypes.filter((g) => enabledGrantTypes.has(g));
  const usesCode = grantTypes.includes('authorization_code');
  return {
    client_id: record.clientId,
    client_name: record.name,
    ...(record.clientType === 'confidential' && record.clientSecretDigest
      ? { client_secret: record.clientSecretDigest, token_endpoint_auth_method: 'client_secret_basic' }
      : { token_endpoint_auth_method: 'none' }),
    grant_types: grantTypes,
    response_types: usesCode ? ['code'] : [],
    redirect_uris: usesCode ? record.redirectUris : [],
    ...(usesCode ? { post_logout_redirect_uris: record.postLogoutRedirectUris } : {}),
    ...(usesCode || grantTypes.includes(DEVICE_CODE_GRANT) ? { require_auth_time: true } : {}),
    [ALLOWED_ORIGINS_METADATA]: record.allowedOrigins,
  };
}
