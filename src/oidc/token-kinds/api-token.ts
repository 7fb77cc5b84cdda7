import type { ApiTokenService, TokenAuthentication } from '../../domain/api-tokens/api-token.service.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
import type { TokenKind } from './token-kind.ts';

/**
 * Opaque API tokens (`Authorization: Token <secret>`, issue 10): generated `ghat_…` secrets and
 * those declared in AUTH_TOKENS. Introspection answers for them too, so a downstream API checks
 * every credential with one mechanism (RFC 7662 §2.2 plus `username` and `permissions`).
 *
 * The service screens a secret before any lookup (a checksum, or the set of declared digests), so
 * this kind may look at any value that is not a JWT: what it does not know costs a digest and goes
 * on to the next kind (oidc-provider's opaque tokens).
 */
export interface ApiTokenFound {
  auth: TokenAuthentication;
  /** the client_id of the application the token is bound to, if any */
  clientId: string | undefined;
}

export function createApiTokenKind(deps: {
  issuer: string;
  apiTokens: Pick<ApiTokenService, 'authenticate' | 'revokeAs'>;
  applications: Pick<ApplicationService, 'clientIdOf'>;
}): TokenKind<ApiTokenFound> {
  const { issuer, apiTokens, applications } = deps;
  return {
    name: 'api_token',

    // No lookup: the service's screening is what makes looking cheap.
    recognises: (_value, hint) => hint !== 'refresh_token',

    async find(value) {
      const auth = await apiTokens.authenticate(value);
      if (!auth) return null;
      const applicationId = auth.token.applicationId;
      return { auth, clientId: applicationId ? ((await applications.clientIdOf(applicationId)) ?? undefined) : undefined };
    },

    // API tokens have no audience: the policy shows them to any client with an introspect right.
    partiesOf: ({ clientId }) => ({ kind: 'api_token', clientId, audiences: [] }),

    // authenticate() found it unrevoked, unexpired, its user active and its application too.
    isActive: () => true,

    async introspection({ auth, clientId }) {
      const { token, user, permissions } = auth;
      return {
        active: true,
        iss: issuer,
        sub: user.userId,
        username: user.username,
        scope: token.scope,
        permissions: [...permissions].sort(),
        ...(clientId ? { client_id: clientId } : {}),
        iat: Math.floor(token.createdAt.getTime() / 1000),
        ...(token.expiresAt ? { exp: Math.floor(token.expiresAt.getTime() / 1000) } : {}),
        token_type: 'api_token',
      };
    },

    // RFC 7009: the client a token is bound to may revoke it (introspection-policy.ts mayRevoke).
    revoke: ({ auth, clientId }) => apiTokens.revokeAs(auth.token.id, `client:${clientId ?? 'unknown'}`),
  };
}
