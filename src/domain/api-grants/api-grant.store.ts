import type { Executor } from '../../db/storage.ts';

/** One row of `application_api_grants`: an application may request tokens for an API. */
export interface GrantRow {
  apiResourceId: string;
  scopes: string[];
  /** RFC 7662 §4: may introspect tokens issued for this API to any client */
  canIntrospect: boolean;
}

export interface ApiGrantStore {
  /** Replaces every grant of the application with `grants`. */
  replaceForApplication(db: Executor, applicationId: string, grants: GrantRow[]): Promise<void>;
  countForApi(db: Executor, apiResourceId: string): Promise<number>;
}

export function createApiGrantStore(): ApiGrantStore {
  return {
    async replaceForApplication(db, applicationId, grants) {
      await db.applicationApiGrant.deleteMany({ where: { applicationId } });
      if (grants.length) await db.applicationApiGrant.createMany({ data: grants.map((g) => ({ ...g, applicationId })) });
    },
    countForApi: (db, apiResourceId) => db.applicationApiGrant.count({ where: { apiResourceId } }),
  };
}
