import type { OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import type { TokenRevocationService } from '../domain/token-revocations/token-revocation.service.ts';
import type { Clock } from '../lib/clock.ts';

/**
 * Ends a grant and everything issued under it: the stored artifacts (codes, opaque access and
 * refresh tokens: the adapter's `revokeByGrantId`) and the JWT access tokens, which are not stored
 * and are refused by their `grant_id` claim instead (claims.ts, token-revocations). oidc-provider
 * calls it through the adapter when a refresh token or code is used twice
 * (lib/helpers/revoke.js); Gatehouse's revocation endpoint when a refresh token is revoked
 * (RFC 7009 §2.1: "SHOULD also invalidate all access tokens based on the same authorization grant").
 */
export type GrantRevoker = (grantId: string) => Promise<void>;

/** How long after the revocation a token issued under the grant just before (or racing it) may live. */
const MARGIN_SECONDS = 60;

export function createGrantRevoker(deps: {
  artifacts: Pick<OidcArtifactService, 'revokeByGrantId'>;
  revocations: Pick<TokenRevocationService, 'revokeGrant'>;
  /** the longest access-token lifetime of any API (seconds): how long a JWT of the grant may still live */
  longestAccessTokenTtl: () => Promise<number>;
  clock: Clock;
}): GrantRevoker {
  return async function revokeGrant(grantId) {
    const ttl = await deps.longestAccessTokenTtl();
    await Promise.all([
      deps.artifacts.revokeByGrantId(grantId),
      deps.revocations.revokeGrant(grantId, deps.clock.epoch() + ttl + MARGIN_SECONDS),
    ]);
  };
}
