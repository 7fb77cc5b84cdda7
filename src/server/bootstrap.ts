import type { Logger } from 'pino';
import type { Container } from '../container.ts';
import type { Database } from '../db/database.ts';
import { migrate } from '../db/migrator.ts';
import { systemPrincipal } from '../domain/access/principal.ts';
import { AppError } from '../lib/app-error.ts';
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
    name: 'admin account',
    async run({ services, config, log }) {
      // ADMIN_USERNAME / ADMIN_PASSWORD: the first superuser, made when no user has the name and
      // never touched again (a password changed since stays changed). Several instances starting at
      // once on one PostgreSQL may all find the name free: the unique username lets one insert win,
      // and the others' conflict means what they wanted is true. The password is never logged.
      const admin = config.bootstrapAdmin;
      if (!admin) return;
      const { username } = admin;
      const existing = await services.users.findByUsername(username);
      if (existing) {
        if (!existing.isSuperuser || !existing.isActive)
          log.warn({ username }, 'ADMIN_USERNAME names a user that is not an active superuser; left as it is');
        else log.info({ username }, 'ADMIN_USERNAME: the superuser exists already; left as it is');
        return;
      }
      try {
        // Its own actor (audit names where it came from); not `system`, so it gets a default
        // application like a superuser made with `gatehouse create-admin`.
        const principal = { ...systemPrincipal, actor: 'system:ADMIN_USERNAME' };
        await services.users.create(principal, { username, password: admin.password, isSuperuser: true });
        log.info({ username }, 'ADMIN_USERNAME: created the superuser');
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'user.username_taken')) throw err;
        log.info({ username }, 'ADMIN_USERNAME: the superuser exists already (another instance created it)');
      }
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
