import type { AccessService } from '../../domain/access/access.service.ts';
import type { ApiResourceService } from '../../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';

/**
 * `person`: the user a token was issued to (a sign-in's tokens; absent for an application's own),
 * `issuedAt` its `iat`.
 */
export type IssuedPartiesCheck = (clientId: unknown, aud: unknown, person?: unknown, issuedAt?: unknown) => Promise<boolean>;

/**
 * A token is only as alive as the client it was issued to, the APIs it is for and the person it
 * acts for: deleting or deactivating any of them ends its tokens at introspection (DESIGN.md §5),
 * though a JWT cannot be recalled; a person's tokens from before they were last deactivated stay
 * ended if they are activated again. Every lookup is cached (no query on the hot path).
 */
export function createIssuedPartiesCheck(deps: {
  applications: Pick<ApplicationService, 'findClient'>;
  apis: Pick<ApiResourceService, 'resolve'>;
  access: Pick<AccessService, 'isSignInCurrent'>;
}): IssuedPartiesCheck {
  return async function issuedPartiesExist(clientId, aud, person, issuedAt) {
    if (typeof clientId === 'string') {
      const client = await deps.applications.findClient(clientId);
      if (!client?.isActive) return false;
    }
    if (typeof person === 'string' && !(await deps.access.isSignInCurrent(person, typeof issuedAt === 'number' ? issuedAt : undefined))) {
      return false;
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    for (const audience of audiences) {
      if (typeof audience !== 'string' || !(await deps.apis.resolve(audience))) return false;
    }
    return true;
  };
}
