import type { ApiResourceService } from '../../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';

export type IssuedPartiesCheck = (clientId: unknown, aud: unknown) => Promise<boolean>;

/**
 * A token is only as alive as the client it was issued to and the APIs it is for: deleting or
 * deactivating either ends its tokens at introspection (DESIGN.md §5), though a JWT cannot be
 * recalled. Both lookups are cached (no query on the hot path).
 */
export function createIssuedPartiesCheck(deps: {
  applications: Pick<ApplicationService, 'findClient'>;
  apis: Pick<ApiResourceService, 'resolve'>;
}): IssuedPartiesCheck {
  return async function issuedPartiesExist(clientId, aud) {
    if (typeof clientId === 'string') {
      const client = await deps.applications.findClient(clientId);
      if (!client?.isActive) return false;
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    for (const audience of audiences) {
      if (typeof audience !== 'string' || !(await deps.apis.resolve(audience))) return false;
    }
    return true;
  };
}
