import type { Config } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import { createApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import { createApiResourceStore } from '../domain/api-resources/api-resource.store.ts';
import { createApplicationService } from '../domain/applications/application.service.ts';
import { createApplicationStore } from '../domain/applications/application.store.ts';
import { createAuditStore } from '../domain/audit/audit.store.ts';
import { createOidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import { createOidcArtifactStore } from '../domain/oidc-artifacts/oidc-artifact.store.ts';
import { createSigningKeyService } from '../domain/signing-keys/signing-key.service.ts';
import { createSigningKeyStore } from '../domain/signing-keys/signing-key.store.ts';
import { createTokenRevocationService } from '../domain/token-revocations/token-revocation.service.ts';
import { createTokenRevocationStore } from '../domain/token-revocations/token-revocation.store.ts';
import type { Clock } from '../lib/clock.ts';
import type { DerivedKeys } from '../lib/secrets.ts';
import { SERVED_GRANT_TYPES } from '../oidc/surface.ts';

/** Every domain service, wired over one database. Used by the server and by the CLI alike. */
export function createServices(deps: { db: Database; config: Config; keys: DerivedKeys; clock: Clock }) {
  const { db, config, keys, clock } = deps;
  const prisma = db.prisma;
  const audit = createAuditStore();
  const apiStore = createApiResourceStore(prisma);
  const apis = createApiResourceService({
    prisma,
    store: apiStore,
    audit,
    defaults: { signingAlg: config.defaultSigningAlg, accessTokenTtlSeconds: config.accessTokenTtlSeconds },
  });
  const applications = createApplicationService({
    prisma,
    store: createApplicationStore(prisma),
    apiStore,
    audit,
    clock,
    digestKey: keys.digestKey,
    servedGrantTypes: SERVED_GRANT_TYPES,
  });
  const signingKeys = createSigningKeyService({
    prisma,
    store: createSigningKeyStore(prisma),
    audit,
    clock,
    encryptionKey: keys.encryptionKey,
    longestTokenLifetime: () => apis.longestAccessTokenTtl(),
    activationDelaySeconds: config.keyActivationDelaySeconds,
  });
  const revocations = createTokenRevocationService({ store: createTokenRevocationStore(db), clock });
  const artifacts = createOidcArtifactService({
    store: createOidcArtifactStore(db, clock),
    clock,
    idKey: keys.artifactIdKey,
    payloadKey: keys.artifactPayloadKey,
  });
  return { apis, applications, signingKeys, revocations, artifacts };
}

export type Services = ReturnType<typeof createServices>;
