import type { AccessService } from '../domain/access/access.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';

/**
 * Claims Gatehouse adds to access tokens beside RFC 9068's own (issue 10): a client-credentials
 * token for an API carries `permissions`, the codenames of that API granted to the application
 * itself (`gatehouse clients permissions --set …`), so the API authorises from the token alone. A
 * client granted none gets no `permissions` claim (its tokens stay as they were).
 *
 * One function for both ways a token is issued: oidc-provider's `extraTokenClaims` (provider.ts)
 * and the token fast path (token-fast-path.ts), which puts the claims first, as oidc-provider's
 * JWT format does. Answered from the access and application caches: no query on a warm path.
 */
export interface TokenClaims {
  /** the extra claims of a client-credentials token of `clientId` for the API `audience` */
  forClientCredentials(clientId: string, audience: string): Promise<Record<string, unknown> | undefined>;
}

export function createTokenClaims(deps: {
  access: Pick<AccessService, 'applicationPermissionsForApi'>;
  applications: Pick<ApplicationService, 'findClient'>;
}): TokenClaims {
  return {
    async forClientCredentials(clientId, audience) {
      const client = await deps.applications.findClient(clientId);
      if (!client) return undefined;
      const permissions = await deps.access.applicationPermissionsForApi(client.id, audience);
      return permissions.length ? { permissions } : undefined;
    },
  };
}
