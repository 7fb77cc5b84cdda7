import type { Executor } from '../../db/storage.ts';
import type { ApiGrantStore, GrantRow } from './api-grant.store.ts';

export type { GrantRow };

/**
 * Which APIs an application may request tokens for (`application_api_grants`). The applications
 * domain writes them as part of registering or updating an application, the API domain counts
 * them before removing an API; both inside their own transaction, hence the executor argument.
 */
export function createApiGrantService({ store }: { store: ApiGrantStore }) {
  return {
    replaceForApplication: (tx: Executor, applicationId: string, grants: GrantRow[]): Promise<void> =>
      store.replaceForApplication(tx, applicationId, grants),
    /** How many applications are granted the API. */
    countForApi: (db: Executor, apiResourceId: string): Promise<number> => store.countForApi(db, apiResourceId),
  };
}

export type ApiGrantService = ReturnType<typeof createApiGrantService>;
