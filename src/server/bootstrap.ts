import type { Logger } from 'pino';
import type { Container } from '../container.ts';
import type { Database } from '../db/database.ts';
import { migrate } from '../db/migrator.ts';
import { MasterKeyError } from './master-key.ts';

/**
 * What a server does, in order, between opening its database and serving: each step named, so a
 * slow or failing start says which step it was in. Steps before the container need only the
 * database; the rest use the domain services.
 */
export async function prepareDatabase(db: Database, log: Logger): Promise<void> {
  const migrated = await migrate(db);
  if (migrated.applied.length) log.info({ applied: migrated.applied }, 'applied database migrations');
}

export interface BootstrapStep {
  name: string;
  run(container: Container): Promise<void>;
}

export const BOOTSTRAP_STEPS: BootstrapStep[] = [
  {
    name: 'master key',
    async run({ services }) {
      // Checked with the database before anything is decrypted or digested with the key.
      if (!(await services.settings.isMasterKeyOfThisDatabase())) {
        throw new MasterKeyError(
          'this database was set up with a different master key: set MASTER_KEY (or MASTER_KEY_FILE) to the key the other instances use',
        );
      }
    },
  },
  {
    name: 'stored artifacts',
    async run({ services, log }) {
      // Opaque tokens and other artifacts stored by an earlier version (plain ids): digest and seal
      // them before serving, so they keep working and the database stops holding them.
      const sealed = await services.artifacts.sealLegacyRows();
      if (sealed) log.info({ rows: sealed }, 'digested the ids of stored oidc artifacts');
    },
  },
  {
    name: 'signing keys',
    async run({ services, log }) {
      const created = await services.signingKeys.ensureKeys();
      if (created.length) log.info({ kids: created }, 'generated signing keys');
    },
  },
  {
    name: 'revoked tokens',
    run: ({ services }) => services.revocations.reload(),
  },
  {
    name: 'built-in permissions',
    async run({ services, log }) {
      // Gatehouse's own admin codenames (view_application, add_user…), created once, idempotently.
      const { created } = await services.permissions.ensureBuiltIn();
      if (created.length) log.info({ codenames: created }, 'created built-in permissions');
    },
  },
  {
    name: 'declared API tokens',
    async run({ services, config, log }) {
      // AUTH_TOKENS: the same declaration on every start gives the same tokens; a removed line
      // removes its token. An invalid declaration stops the start (AuthTokensError, never a secret).
      if (config.authTokens === undefined) return;
      const result = await services.apiTokens.applyDeclaredTokens(config.authTokens);
      for (const warning of result.warnings) log.warn(warning);
      const { created, updated, removed, usersCreated, permissionsCreated } = result;
      if (created + updated + removed + usersCreated.length + permissionsCreated.length > 0) {
        log.info({ created, updated, removed, usersCreated, permissionsCreated }, 'applied AUTH_TOKENS');
      }
    },
  },
];

export async function bootstrap(container: Container): Promise<void> {
  for (const step of BOOTSTRAP_STEPS) {
    const started = performance.now();
    await step.run(container);
    container.log.debug({ step: step.name, ms: Math.round(performance.now() - started) }, 'bootstrap step done');
  }
}
