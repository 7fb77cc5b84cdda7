import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { ArtifactPayload, OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';
import { toClientMetadata } from './client-metadata.ts';

/**
 * oidc-provider's storage adapter (https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js).
 * Clients come from Gatehouse's applications (read-only here: dynamic registration is off);
 * every other model is a row in `oidc_artifacts`.
 */
export function createAdapterClass(deps: {
  artifacts: OidcArtifactService;
  applications: ApplicationService;
  enabledGrantTypes: ReadonlySet<string>;
}) {
  const { artifacts, applications, enabledGrantTypes } = deps;

  class ClientAdapter implements Adapter {
    async find(id: string): Promise<AdapterPayload | undefined> {
      // A control character names no client; PostgreSQL would refuse the query (NUL) anyway.
      const record = hasControlCharacters(id) ? null : await applications.findClient(id);
      if (!record?.isActive) {
        // oidc-provider compares the secret of a client it found (compareClientSecret); for one it
        // did not, spend the same digest so the answer's timing does not tell which ids exist.
        applications.spendDummyCheck();
        return undefined;
      }
      return toClientMetadata(record, enabledGrantTypes) as AdapterPayload;
    }
    async upsert(): Promise<void> {
      throw new Error('clients are managed by Gatehouse, not through oidc-provider');
    }
    async destroy(): Promise<void> {
      throw new Error('clients are managed by Gatehouse, not through oidc-provider');
    }
    async findByUid(): Promise<undefined> {
      return undefined;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async consume(): Promise<void> {}
    async revokeByGrantId(): Promise<void> {}
  }

  class ArtifactAdapter implements Adapter {
    constructor(private readonly model: string) {}
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      return artifacts.upsert(this.model, id, payload as ArtifactPayload, expiresIn);
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      if (hasControlCharacters(id)) return undefined;
      return (await artifacts.find(this.model, id)) as AdapterPayload | undefined;
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      if (hasControlCharacters(userCode)) return undefined;
      return (await artifacts.findByUserCode(this.model, userCode)) as AdapterPayload | undefined;
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (hasControlCharacters(uid)) return undefined;
      return (await artifacts.findByUid(this.model, uid)) as AdapterPayload | undefined;
    }
    consume(id: string): Promise<void> {
      return artifacts.consume(this.model, id);
    }
    destroy(id: string): Promise<void> {
      return artifacts.destroy(this.model, id);
    }
    revokeByGrantId(grantId: string): Promise<void> {
      return artifacts.revokeByGrantId(grantId);
    }
  }

  return function AdapterFactory(model: string): Adapter {
    return model === 'Client' ? new ClientAdapter() : new ArtifactAdapter(model);
  };
}
