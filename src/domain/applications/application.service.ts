import type { KeyObject } from 'node:crypto';
import type { PrismaClient } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/prisma-errors.ts';
import { assertThat } from '../../lib/assert-that.ts';
import type { Clock } from '../../lib/clock.ts';
import { newClientId, newId, newSecret } from '../../lib/ids.ts';
import { digestSecret, equalDigests } from '../../lib/secrets.ts';
import type { ApiResourceStore } from '../api-resources/api-resource.store.ts';
import type { AuditStore } from '../audit/audit.store.ts';
import { createApplicationCache } from './application.cache.ts';
import { applicationError } from './application.errors.ts';
import { type Application, type ClientRecord, CreateApplication, type GrantType } from './application.schema.ts';
import type { ApplicationStore } from './application.store.ts';

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

/** OAuth clients ("applications"): registration, secrets, and the lookups client authentication needs. */
export function createApplicationService({ prisma, store, apiStore, audit, clock, digestKey }: ApplicationServiceDeps) {
  const cache = createApplicationCache((clientId) => store.findByClientId(clientId));

  /**
   * Secrets that verified, by the digest they matched. Every token request authenticates its
   * client, and the keyed digest is the one piece of cryptography on that path besides the
   * signature; a client presenting the same secret again is checked against the remembered value
   * (constant time) instead. Keyed by digest, so a rotated secret can never match a remembered one.
   * Bounded: emptied when it holds as many entries as there could be live clients to remember.
   */
  const verified = new Map<string, string>();
  const VERIFIED_LIMIT = 10_000;
  function secretMatches(digest: string, presented: string): boolean {
    if (typeof presented !== 'string' || presented === '') return false;
    const known = verified.get(digest);
    if (known !== undefined) return equalDigests(known, presented);
    if (!equalDigests(digestSecret(digestKey, presented), digest)) return false;
    if (verified.size >= VERIFIED_LIMIT) verified.clear();
    verified.set(digest, presented);
    return true;
  }

  function mintSecret() {
    const secret = newSecret(CLIENT_SECRET_PREFIX);
    return { secret, digest: digestSecret(digestKey, secret), hint: secret.slice(0, HINT_LENGTH) };
  }

  return {
    /**
     * Registers an application. Confidential clients get a generated 256-bit secret, returned here
     * once and stored only as a keyed digest.
     */
    async register(input: CreateApplication, actor: string): Promise<ApplicationWithSecret> {
      const data = CreateApplication.parse(input);
      const grantTypes = [...new Set(data.grantTypes)] as GrantType[];
      assertThat(!(data.clientType === 'public' && grantTypes.includes('client_credentials')), () =>
        applicationError('public_client_credentials'),
      );
      assertThat(!grantTypes.includes('authorization_code') || data.redirectUris.length > 0, () =>
        applicationError('redirect_uri_required'),
      );
      const identifiers = data.apis.map((a) => a.identifier);
      assertThat(new Set(identifiers).size === identifiers.length, () => applicationError('duplicate_api'));

      const minted = data.clientType === 'confidential' ? mintSecret() : null;
      try {
        const record = await prisma.$transaction(async (tx) => {
          const apis = [];
          for (const grant of data.apis) {
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
            apis.push({ apiResourceId: api.id, scopes });
          }
          const created = await store.insert(tx, {
            id: newId('app'),
            clientId: newClientId(),
            name: data.name,
            clientType: data.clientType,
            grantTypes,
            redirectUris: data.redirectUris,
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
            details: { clientId: created.clientId, name: created.name, grantTypes, apis: created.apis },
          });
          return created;
        });
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

    /** Constant-time check of a presented secret against the stored digest. */
    verifySecret(record: ClientRecord, presented: string): boolean {
      if (!record.clientSecretDigest || !record.isActive) return false;
      return secretMatches(record.clientSecretDigest, presented);
    },

    /** Whether `presented` is the secret whose keyed digest is `digest` (oidc-provider's check, too). */
    secretMatches,

    /** Drops cached applications (one, or all) after a change notification. */
    invalidate: (clientId?: string): void => cache.invalidate(clientId),
  };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
