import type { KeyObject } from 'node:crypto';
import type { PrismaClient, Tx } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/prisma-errors.ts';
import { assertThat } from '../../lib/assert-that.ts';
import type { Clock } from '../../lib/clock.ts';
import { newClientId, newId, newSecret } from '../../lib/ids.ts';
import { digestSecret, equalDigests } from '../../lib/secrets.ts';
import type { ApiResourceStore } from '../api-resources/api-resource.store.ts';
import type { AuditStore } from '../audit/audit.store.ts';
import { createApplicationCache } from './application.cache.ts';
import { applicationError } from './application.errors.ts';
import {
  type ApiGrant,
  type Application,
  type ClientRecord,
  CreateApplication,
  type GrantedApi,
  type GrantType,
  UpdateApplication,
} from './application.schema.ts';
import type { ApplicationStore, GrantRow } from './application.store.ts';

/** Generated client secrets start with this, so secret scanners can recognise a leaked one. */
export const CLIENT_SECRET_PREFIX = 'ghcs_';
const HINT_LENGTH = CLIENT_SECRET_PREFIX.length + 4;

export interface ApplicationServiceDeps {
  prisma: PrismaClient;
  store: ApplicationStore;
  apiStore: ApiResourceStore;
  audit: AuditStore;
  clock: Clock;
  digestKey: KeyObject;
  /** grant types the token endpoint serves (oidc/surface.ts): a client registered for another could not use it */
  servedGrantTypes: readonly GrantType[];
}

/** What creating or rotating returns: the only moment the plain secret exists outside the client. */
export interface ApplicationWithSecret {
  application: Application;
  clientSecret: string | null;
}

function withoutDigest(record: ClientRecord): Application {
  const { clientSecretDigest: _omit, ...application } = record;
  return application;
}

/**
 * The API grants an update asks for, or undefined when it leaves them alone. A replaced list keeps,
 * for an API the application already had, the scopes and introspect right the input leaves out:
 * listing the APIs again must neither widen a client's scopes (a new grant gets all of the API's)
 * nor take a resource server's right away. `introspect`, when given, then applies to every grant.
 */
function updatedGrants(current: GrantedApi[], data: UpdateApplication): ApiGrant[] | undefined {
  let grants: ApiGrant[] | undefined = data.apis?.map((grant) => {
    const before = current.find((api) => api.identifier === grant.identifier);
    return { identifier: grant.identifier, scopes: grant.scopes ?? before?.scopes, introspect: grant.introspect ?? before?.introspect };
  });
  if (data.introspect !== undefined) {
    grants = (grants ?? current).map(({ identifier, scopes }) => ({ identifier, scopes, introspect: data.introspect }));
  }
  return grants;
}

/** OAuth clients ("applications"): registration, secrets, and the lookups client authentication needs. */
export function createApplicationService({ prisma, store, apiStore, audit, clock, digestKey, servedGrantTypes }: ApplicationServiceDeps) {
  const cache = createApplicationCache({
    load: (clientId) => store.findByClientId(clientId),
    loadIds: () => store.findAllClientIds(),
  });

  /**
   * The keyed digest of the presented secret (≈2 µs), compared in constant time. No plain secret is
   * kept in memory to skip it.
   */
  function secretMatches(digest: string, presented: string): boolean {
    if (typeof presented !== 'string' || presented === '') return false;
    return equalDigests(digestSecret(digestKey, presented), digest);
  }

  // An unknown client_id costs the same digest and comparison as a known one with a wrong secret,
  // so the time of an answer does not tell which ids exist. The digest of a random secret nobody
  // holds, in the shape of a real one.
  const dummyDigest = digestSecret(digestKey, newSecret(CLIENT_SECRET_PREFIX));
  const dummySecret = newSecret(CLIENT_SECRET_PREFIX);

  async function resolveGrants(tx: Tx, grants: ApiGrant[]): Promise<GrantRow[]> {
    const identifiers = grants.map((a) => a.identifier);
    assertThat(new Set(identifiers).size === identifiers.length, () => applicationError('duplicate_api'));
    const rows: GrantRow[] = [];
    for (const grant of grants) {
      const api = await apiStore.findByIdentifier(grant.identifier, tx);
      assertThat(api, () => applicationError('unknown_api', { identifier: grant.identifier }));
      const scopes = grant.scopes ? [...new Set(grant.scopes)] : api.scopes;
      const unknown = scopes.find((s) => !api.scopes.includes(s));
      assertThat(unknown === undefined, () =>
        applicationError(
          'unknown_scope',
          { identifier: api.identifier, scope: unknown },
          `the API ${api.identifier} does not define the scope "${unknown}"`,
        ),
      );
      rows.push({ apiResourceId: api.id, scopes, canIntrospect: grant.introspect ?? false });
    }
    return rows;
  }

  function mintSecret() {
    const secret = newSecret(CLIENT_SECRET_PREFIX);
    return { secret, digest: digestSecret(digestKey, secret), hint: secret.slice(0, HINT_LENGTH) };
  }

  return {
    /**
     * Registers an application. Confidential clients get a generated 256-bit secret, returned here
     * once and stored only as a keyed digest.
     * @remarks Only for grant types the server serves: a client registered for another grant
     * (authorization_code before sign-in is served) would hold a registration it cannot use.
     */
    async register(input: CreateApplication, actor: string): Promise<ApplicationWithSecret> {
      const data = CreateApplication.parse(input);
      const grantTypes = [...new Set(data.grantTypes)] as GrantType[];
      const unserved = grantTypes.find((g) => !servedGrantTypes.includes(g));
      assertThat(unserved === undefined, () =>
        applicationError(
          'grant_type_not_served',
          { grantType: unserved, served: servedGrantTypes.join(',') },
          `this server does not serve the ${unserved} grant; it serves: ${servedGrantTypes.join(', ')}`,
        ),
      );
      assertThat(!(data.clientType === 'public' && grantTypes.includes('client_credentials')), () =>
        applicationError('public_client_credentials'),
      );
      assertThat(!grantTypes.includes('authorization_code') || data.redirectUris.length > 0, () =>
        applicationError('redirect_uri_required'),
      );
      const identifiers = data.apis.map((a) => a.identifier);
      assertThat(new Set(identifiers).size === identifiers.length, () => applicationError('duplicate_api'));
      assertThat(!(data.clientType === 'public' && data.apis.some((a) => a.introspect)), () => applicationError('public_introspect'));

      const minted = data.clientType === 'confidential' ? mintSecret() : null;
      try {
        const record = await prisma.$transaction(async (tx) => {
          const apis = await resolveGrants(tx, data.apis);
          const created = await store.insert(tx, {
            id: newId('app'),
            clientId: newClientId(),
            name: data.name,
            clientType: data.clientType,
            grantTypes,
            redirectUris: data.redirectUris,
            allowedOrigins: [...new Set(data.allowedOrigins)],
            skipAuthorization: data.skipAuthorization,
            clientSecretDigest: minted?.digest ?? null,
            secretHint: minted?.hint ?? null,
            apis,
          });
          await audit.insert(tx, {
            actor,
            action: 'application.created',
            targetType: 'application',
            targetId: created.id,
            details: {
              clientId: created.clientId,
              name: created.name,
              grantTypes,
              apis: created.apis,
              allowedOrigins: created.allowedOrigins,
            },
          });
          return created;
        });
        cache.invalidate(record.clientId);
        return { application: withoutDigest(record), clientSecret: minted?.secret ?? null };
      } catch (err) {
        if (isUniqueViolation(err)) throw applicationError('name_taken', { name: data.name });
        throw err;
      }
    },

    async list(): Promise<Application[]> {
      return (await store.findMany()).map(withoutDigest);
    },

    async get(clientId: string): Promise<Application> {
      const found = await store.findByClientId(clientId);
      assertThat(found, () => applicationError('not_found', { clientId }));
      return withoutDigest(found);
    },

    /** Replaces the secret. The old one stops working as soon as the change reaches each server. */
    async rotateSecret(clientId: string, actor: string): Promise<ApplicationWithSecret> {
      const minted = mintSecret();
      const record = await prisma.$transaction(async (tx) => {
        const found = await store.findByClientId(clientId, tx);
        assertThat(found, () => applicationError('not_found', { clientId }));
        assertThat(found.clientType === 'confidential', () => applicationError('no_secret', { clientId }));
        const updated = await store.updateSecret(tx, clientId, { digest: minted.digest, hint: minted.hint, rotatedAt: clock.now() });
        await audit.insert(tx, {
          actor,
          action: 'application.secret_rotated',
          targetType: 'application',
          targetId: found.id,
          details: { clientId },
        });
        return updated;
      });
      cache.invalidate(clientId);
      return { application: withoutDigest(record), clientSecret: minted.secret };
    },

    /** Renames an application, replaces its API grants, or sets its introspect right (RFC 7662 §4). */
    async update(input: UpdateApplication, actor: string): Promise<Application> {
      const data = UpdateApplication.parse(input);
      try {
        const record = await prisma.$transaction(async (tx) => {
          const found = await store.findByClientId(data.clientId, tx);
          assertThat(found, () => applicationError('not_found', { clientId: data.clientId }));
          const grants = updatedGrants(found.apis, data);
          if (grants) {
            assertThat(!(found.clientType === 'public' && grants.some((g) => g.introspect)), () =>
              applicationError('public_introspect', { clientId: found.clientId }),
            );
            assertThat(!(data.introspect === true && grants.length === 0), () =>
              applicationError('introspect_without_api', { clientId: found.clientId }),
            );
          }
          const apis = grants ? await resolveGrants(tx, grants) : undefined;
          const allowedOrigins = data.allowedOrigins && [...new Set(data.allowedOrigins)];
          const updated = await store.update(tx, found.id, { name: data.name, apis, allowedOrigins });
          await audit.insert(tx, {
            actor,
            action: 'application.updated',
            targetType: 'application',
            targetId: found.id,
            details: { clientId: found.clientId, name: updated.name, apis: updated.apis, allowedOrigins: updated.allowedOrigins },
          });
          return updated;
        });
        cache.invalidate(data.clientId);
        return withoutDigest(record);
      } catch (err) {
        if (isUniqueViolation(err)) throw applicationError('name_taken', { name: data.name });
        throw err;
      }
    },

    async remove(clientId: string, actor: string): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const found = await store.findByClientId(clientId, tx);
        assertThat(found, () => applicationError('not_found', { clientId }));
        await store.delete(tx, clientId);
        await audit.insert(tx, {
          actor,
          action: 'application.deleted',
          targetType: 'application',
          targetId: found.id,
          details: { clientId, name: found.name },
        });
      });
      cache.invalidate(clientId);
    },

    /** Cached lookup for client authentication and token issuance (hot path: no query on a hit). */
    findClient: (clientId: string): Promise<ClientRecord | null> => cache.get(clientId),

    /**
     * Constant-time check of a presented secret against the stored digest. Without a usable record
     * (unknown id, public or inactive client) the same work is done against a dummy digest.
     */
    verifySecret(record: ClientRecord | null | undefined, presented: string): boolean {
      const usable = !!record?.clientSecretDigest && record.isActive;
      const matches = secretMatches(usable ? (record.clientSecretDigest as string) : dummyDigest, presented || dummySecret);
      return usable && matches;
    },

    /** The work of a failed secret check, for a path that found no client to check against. */
    spendDummyCheck(): void {
      secretMatches(dummyDigest, dummySecret);
    },

    /** Whether `presented` is the secret whose keyed digest is `digest` (oidc-provider's check, too). */
    secretMatches,

    /** Drops cached applications (one, or all) after a change notification. */
    invalidate: (clientId?: string): void => cache.invalidate(clientId),

    /** Forgets everything, the index of client ids included (after a listener reset). */
    reset: (): void => cache.reset(),
  };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
