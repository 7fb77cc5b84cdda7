import type { ClientMetadata } from 'oidc-provider';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import { ALLOWED_ORIGINS_METADATA } from './cors.ts';

/**
 * Maps an application to oidc-provider client metadata.
 *
 * `client_secret` carries the secret's keyed digest, never the secret: oidc-provider needs a value
 * to accept secret-based authentication, and our `compareClientSecret` (see provider.ts) digests
 * the presented secret and compares digests. HMAC-based algorithms, which would need the plain
 * secret as a key, are disabled.
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
    [ALLOWED_ORIGINS_METADATA]: record.allowedOrigins,
  };
}
