import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { ArtifactPayload, OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';
import { toClientMetadata } from './client-metadata.ts';
import type { GrantRevoker } from './grant-revocation.ts';

/** Models whose instances are used once and are bound to a grant: a second use ends the grant. */
const GRANT_SOURCES: Readonly<Record<string, string>> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request',
};

/**
 * Seconds a model's row stays readable past the expiry oidc-provider gives it. A device code must
 * still be found once expired, or the polling device would hear `invalid_grant` ("not found")
 * instead of RFC 8628 §3.5's `expired_token` (lib/actions/grants/device_code.js checks `isExpired`
 * on the code it found), and a person typing it would be told it is wrong rather than expired. The
 * payload's own `exp` still decides: an expired code issues nothing.
 */
const READABLE_AFTER_EXPIRY_SECONDS: Readonly<Record<string, number>> = { DeviceCode: 600 };

/** The key a grant is remembered by: one person and one client (consent is asked once per pair). */
export function grantLookup(accountId: string, clientId: string): string {
  return `${accountId}\u0000${clientId}`;
}

/**
 * oidc-provider's storage adapter (https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js).
 * Clients come from Gatehouse's applications (read-only here: dynamic registration is off);
 * every other model is a row in `oidc_artifacts`.
 *
 * Two things beyond the contract:
 * - `consume` is atomic and says who won (the store's conditional update). oidc-provider checks
 *   `consumed` and then consumes (lib/actions/grants/refresh_token.js, lib/helpers/grant_source.js),
 *   so two requests presenting one refresh token or code at the same moment would both pass the
 *   check; the loser's consume throws `invalid_grant` here and ends the grant, exactly as the
 *   library treats a second use that came later (RFC 9700 §4.14.2: reuse revokes the grant).
 * - `revokeByGrantId` ends the grant's JWT access tokens too (grant-revocation.ts).
 * - A Grant is stored with its account and client as a lookup key, so consent is remembered per
 *   person and client (provider.ts `loadExistingGrant`), not only per browser session.
 */
export function createAdapterClass(deps: {
  artifacts: OidcArtifactService;
  applications: ApplicationService;
  enabledGrantTypes: ReadonlySet<string>;
  revokeGrant: GrantRevoker;
}) {
  const { artifacts, applications, enabledGrantTypes, revokeGrant } = deps;

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
      const lookup =
        this.model === 'Grant' && typeof payload.accountId === 'string' && typeof payload.clientId === 'string'
          ? grantLookup(payload.accountId, payload.clientId)
          : undefined;
      const kept = READABLE_AFTER_EXPIRY_SECONDS[this.model];
      return artifacts.upsert(this.model, id, payload as ArtifactPayload, kept && expiresIn ? expiresIn + kept : expiresIn, lookup);
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
    async consume(id: string): Promise<void> {
      if (await artifacts.consume(this.model, id)) return;
      // Consumed in the meantime (a concurrent request won), or gone: this use is a reuse.
      const label = GRANT_SOURCES[this.model] ?? this.model;
      const grantId = GRANT_SOURCES[this.model] ? (await artifacts.find(this.model, id))?.grantId : undefined;
      if (grantId) await revokeGrant(grantId);
      throw new errors.InvalidGrant(`${label} already used`);
    }
    destroy(id: string): Promise<void> {
      return artifacts.destroy(this.model, id);
    }
    revokeByGrantId(grantId: string): Promise<void> {
      return revokeGrant(grantId);
    }
  }

  return function AdapterFactory(model: string): Adapter {
    return model === 'Client' ? new ClientAdapter() : new ArtifactAdapter(model);
  };
}
