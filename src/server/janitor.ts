import type { Container, Web } from '../container.ts';

const JANITOR_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Every ten minutes: deletes expired artifacts, revocations and throttle counts, and (on
 * PostgreSQL) seals artifacts a server of an earlier version may still write during a rolling
 * upgrade (one process owns an embedded database, and it sealed them when it started). Returns
 * the function that stops it.
 */
export function startJanitor({ services, db, log }: Container, web: Web): () => void {
  const timer = setInterval(() => {
    Promise.all([
      services.artifacts.deleteExpired(),
      services.revocations.purgeExpired(),
      // The throttles share one table: any purge clears it (the device throttle always runs).
      (web.throttle ?? web.passwordThrottle ?? web.deviceThrottle).purgeExpired(),
    ]).catch((err) => log.warn({ err }, 'purging expired rows failed'));
    if (db.kind === 'postgres') {
      services.artifacts
        .sealLegacyRows()
        .then((rows) => rows && log.info({ rows }, 'digested the ids of stored oidc artifacts'))
        .catch((err) => log.warn({ err }, 'digesting stored oidc artifacts failed'));
    }
  }, JANITOR_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
