import type Provider from 'oidc-provider';
import type { OidcArtifactService } from '../../domain/oidc-artifacts/oidc-artifact.service.ts';
import { hasControlCharacters } from '../../lib/control-characters.ts';
import type { GrantRevoker } from '../grant-revocation.ts';
import { findGrant, findOpaqueToken, type OpaqueTokenInstance, type OpaqueTokenModel } from '../internals.ts';
import { audiencesOf, type TokenKind as PolicyTokenKind } from '../introspection-policy.ts';
import type { IssuedPartiesCheck } from './issued-parties.ts';
import type { TokenKind } from './token-kind.ts';

/**
 * Opaque tokens oidc-provider issued and stores (access tokens for APIs with opaque tokens,
 * client credentials tokens, refresh tokens): found through one lookup of which model holds the
 * value, then loaded through oidc-provider's model (cached), so the library's own rules for them
 * (expiry, consumption) apply.
 */
const ACCESS_FIRST: OpaqueTokenModel[] = ['AccessToken', 'ClientCredentials', 'RefreshToken'];
const REFRESH_FIRST: OpaqueTokenModel[] = ['RefreshToken', 'AccessToken', 'ClientCredentials'];

/** What each of oidc-provider's token models is, for the policy. */
const KIND_OF_MODEL: Record<string, PolicyTokenKind> = {
  AccessToken: 'access_token',
  ClientCredentials: 'access_token',
  RefreshToken: 'refresh_token',
};

export interface OpaqueTokenDeps {
  issuer: string;
  artifacts: Pick<OidcArtifactService, 'locate'>;
  provider: () => Provider;
  issuedPartiesExist: IssuedPartiesCheck;
  /** ends a grant with everything issued under it, JWT access tokens included */
  revokeGrant: GrantRevoker;
}

export function createOpaqueTokenKind({
  issuer,
  artifacts,
  provider,
  issuedPartiesExist,
  revokeGrant,
}: OpaqueTokenDeps): TokenKind<OpaqueTokenInstance> {
  /** Grant-bound opaque tokens are only as alive as their grant (as oidc-provider checks). */
  async function grantIsAlive(token: OpaqueTokenInstance): Promise<boolean> {
    if (!token.grantId) return true;
    const grant = await findGrant(provider(), token.grantId);
    return !!grant && !grant.isExpired && grant.clientId === token.clientId && grant.accountId === token.accountId;
  }

  return {
    name: 'opaque_token',

    // Whatever no other kind recognised: its lookup decides.
    recognises: () => true,

    async find(value, hint) {
      // Our tokens never hold control characters; PostgreSQL would refuse a NUL in the lookup.
      if (hasControlCharacters(value)) return null;
      const model = (await artifacts.locate(value, hint === 'refresh_token' ? REFRESH_FIRST : ACCESS_FIRST)) as OpaqueTokenModel | null;
      return (model && (await findOpaqueToken(provider(), model, value))) || null;
    },

    partiesOf(token) {
      const kind = KIND_OF_MODEL[token.kind];
      return kind ? { kind, clientId: token.clientId, audiences: audiencesOf(token.aud) } : null;
    },

    isActive: (token) => token.isValid,

    async introspection(token) {
      if (!(await grantIsAlive(token))) return null;
      if (!(await issuedPartiesExist(token.clientId, token.aud, token.accountId, token.iat))) return null;
      return {
        ...token.extra,
        active: true,
        iss: issuer,
        sub: token.accountId ?? (token.kind === 'ClientCredentials' ? token.clientId : undefined),
        aud: token.aud,
        exp: token.exp,
        iat: token.iat,
        client_id: token.clientId,
        scope: token.scope || undefined,
        sid: token.sid,
        token_type: token.kind === 'RefreshToken' ? undefined : (token.tokenType ?? 'Bearer'),
      };
    },

    async revoke(token) {
      await token.destroy();
      // A refresh token takes its whole grant with it (RFC 7009 §2.1), JWT access tokens included;
      // a grant-bound opaque access token does too, as in oidc-provider.
      if (token.grantId && (token.kind === 'RefreshToken' || token.kind === 'AccessToken')) {
        await revokeGrant(token.grantId);
      }
    },
  };
}
