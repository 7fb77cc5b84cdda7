import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { type Database, openDatabase } from '../db/database.ts';
import { migrate, pendingMigrations } from '../db/migrator.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';
import { SIGNING_ALGS } from '../domain/signing-keys/signing-key.schema.ts';
import { createApp } from '../http/app.ts';
import { createClientAuthThrottle } from '../http/client-auth-throttle.ts';
import { createClientErrorHandler } from '../http/client-error.ts';
import { createProviderSlot } from '../http/provider-slot.ts';
import { type Clock, systemClock } from '../lib/clock.ts';
import { deriveKeys } from '../lib/secrets.ts';
import { createJwtSigner } from '../oidc/jwt-signer.ts';
import { buildProvider, type ProviderDeps } from '../oidc/provider.ts';
import { createTokenInspector } from '../oidc/token-inspector.ts';
import { subscribeToChanges } from './change-subscription.ts';
import { type ControlSocket, startControlSocket } from './control-socket.ts';
import { verifyMasterKey } from './key-check.ts';
import { loadMasterKey } from './master-key.ts';
import { createServices, type Services } from './services.ts';

export interface RunningServer {
  url: string;
  services: Services;
  /** the open database (tests read and break it on purpose) */
  db: Database;
  /** Graceful stop: refuse new connections, let in-flight requests finish, close the database. */
  close(): Promise<void>;
}

const JANITOR_INTERVAL_MS = 10 * 60 * 1000;

export async function startServer(config: Config, log: Logger, clock: Clock = systemClock): Promise<RunningServer> {
  const started = performance.now();
  const keys = deriveKeys(loadMasterKey(config, log));
  const db: Database = await openDatabase(config.database, { log, role: 'server' });
  const cleanups: Array<() => Promise<void> | void> = [() => db.close()];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    const migrated = await migrate(db);
    if (migrated.applied.length) log.info({ applied: migrated.applied }, 'applied database migrations');
    await verifyMasterKey(db, keys.checkValue);

    const services = createServices({ db, config, keys, clock });
    // Opaque tokens and other artifacts stored by an earlier version (plain ids): digest and seal
    // them before serving, so they keep working and the database stops holding them.
    const sealed = await services.artifacts.sealLegacyRows();
    if (sealed) log.info({ rows: sealed }, 'digested the ids of stored oidc artifacts');
    const createdKeys = await services.signingKeys.ensureKeys();
    if (createdKeys.length) log.info({ kids: createdKeys }, 'generated signing keys');
    await services.revocations.reload();

    const providerDeps: ProviderDeps = {
      issuer: config.issuer,
      apis: services.apis,
      applications: services.applications,
      artifacts: services.artifacts,
      cookieKeys: keys.cookieKeys,
      defaultAccessTokenTtlSeconds: config.accessTokenTtlSeconds,
      trustProxy: config.trustProxy,
      log,
    };
    let keyRing: KeyRing = await services.signingKeys.loadKeyRing();
    const slot = createProviderSlot(buildProvider(providerDeps, keyRing));

    // Key changes (rotation here or elsewhere, a retiring key's date passing) rebuild the provider.
    let keyTimer: NodeJS.Timeout | undefined;
    let reloading: Promise<void> = Promise.resolve();
    const scheduleKeyExpiry = () => {
      if (keyTimer) clearTimeout(keyTimer);
      keyTimer = undefined;
      if (!keyRing.nextChangeAt) return;
      const delay = Math.min(Math.max(keyRing.nextChangeAt.getTime() - clock.now().getTime() + 1000, 1000), 2 ** 31 - 1);
      keyTimer = setTimeout(() => void reloadKeys(), delay);
      keyTimer.unref();
    };
    const reloadKeys = () => {
      reloading = reloading.then(async () => {
        const ring = await services.signingKeys.loadKeyRing();
        slot.replace(buildProvider(providerDeps, ring));
        keyRing = ring;
        scheduleKeyExpiry();
        log.info({ kids: ring.publicJwks.map((k) => k.kid) }, 'signing keys loaded');
      });
      return reloading;
    };
    scheduleKeyExpiry();
    cleanups.push(() => {
      if (keyTimer) clearTimeout(keyTimer);
    });

    const unsubscribe = await subscribeToChanges(db, services, reloadKeys, log);
    cleanups.push(unsubscribe);

    const clientAuthThrottle = createClientAuthThrottle({
      config: config.clientAuthThrottle,
      // PostgreSQL: counts shared by every instance on the database. PGlite: one process owns it.
      store: db.kind === 'postgres' ? { kind: 'postgres', query: (text, values) => db.sql(text, values) } : { kind: 'memory' },
    });

    const janitor = setInterval(() => {
      Promise.all([services.artifacts.deleteExpired(), services.revocations.purgeExpired(), clientAuthThrottle?.purgeExpired()]).catch(
        (err) => log.warn({ err }, 'purging expired rows failed'),
      );
      // A server of an earlier version may still write plain rows during a rolling upgrade (only on
      // PostgreSQL: one process owns an embedded database, and it sealed them when it started).
      if (db.kind === 'postgres') {
        services.artifacts
          .sealLegacyRows()
          .then((rows) => rows && log.info({ rows }, 'digested the ids of stored oidc artifacts'))
          .catch((err) => log.warn({ err }, 'digesting stored oidc artifacts failed'));
      }
    }, JANITOR_INTERVAL_MS);
    janitor.unref();
    cleanups.push(() => clearInterval(janitor));

    let shuttingDown = false;
    const inspector = createTokenInspector({
      issuer: config.issuer,
      applications: services.applications,
      apis: services.apis,
      revocations: services.revocations,
      artifacts: services.artifacts,
      provider: () => slot.current,
      keyRing: () => keyRing,
      clock,
    });
    const app = createApp({
      issuer: config.issuer,
      log,
      trustProxy: config.trustProxy,
      cookieKeys: keys.cookieKeys,
      bodyLimitBytes: config.requestBodyLimitBytes,
      provider: slot,
      keyRing: () => keyRing,
      applications: services.applications,
      apis: services.apis,
      inspector,
      ...(config.tokenFastPath ? { tokenFastPath: { signer: createJwtSigner(() => keyRing), clock } } : {}),
      isShuttingDown: () => shuttingDown,
      clientAuthThrottle,
      readiness: [
        { name: 'database', check: async () => (await db.prisma.$executeRaw`SELECT 1`) >= 0 },
        { name: 'migrations', check: async () => (await pendingMigrations(db)).length === 0 },
        { name: 'signing_keys', check: async () => SIGNING_ALGS.every((alg) => keyRing.activeKid[alg] !== undefined) },
      ],
    });

    const server: Server = createServer(app.callback());
    server.on('clientError', await createClientErrorHandler({ issuer: config.issuer }));
    server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;

    let control: ControlSocket | undefined;
    if (config.database.kind === 'pglite') {
      control = await startControlSocket(config.dataDir, services, log);
      cleanups.push(() => control?.close());
    }

    log.info(
      {
        issuer: config.issuer,
        port: address.port,
        database: config.database.kind,
        readyInMs: Math.round(performance.now() - started),
      },
      `gatehouse ready: ${config.issuer}/.well-known/openid-configuration`,
    );

    let closing: Promise<void> | undefined;
    return {
      url: `http://${address.family === 'IPv6' ? `[${address.address === '::' ? '::1' : address.address}]` : address.address === '0.0.0.0' ? '127.0.0.1' : address.address}:${address.port}`,
      services,
      db,
      close() {
        closing ??= (async () => {
          shuttingDown = true;
          log.info('shutting down: finishing in-flight requests');
          await stopHttp(server, config.shutdownGraceSeconds * 1000);
          await reloading.catch(() => {});
          await closeAll();
          log.info('stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
}

/** Stops accepting connections, lets in-flight requests finish, then closes whatever is left. */
function stopHttp(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
