import type { Logger } from 'pino';
import { CHANGES_CHANNEL, parseChange } from '../db/changes.ts';
import type { Database } from '../db/database.ts';
import type { Services } from './services.ts';

/**
 * Applies change notifications from any instance (or the CLI) to this process's caches.
 * On a reset (a dropped listener connection) everything cached is reloaded.
 */
export function subscribeToChanges(db: Database, services: Services, reloadKeys: () => Promise<void>, log: Logger) {
  const onMessage = (payload: string) => {
    const change = parseChange(payload);
    if (!change) return;
    switch (change.kind) {
      case 'application':
        services.applications.invalidate(change.clientId);
        break;
      case 'api':
        services.apis.invalidate();
        services.applications.invalidate(); // their granted APIs may have changed with it
        break;
      case 'keys':
        reloadKeys().catch((err) => log.error({ err }, 'reloading signing keys failed'));
        break;
      case 'revoked-token':
        services.revocations.remember(change.jti, change.exp);
        break;
      case 'artifact':
        services.artifacts.invalidate(change.model, change.digest);
        break;
      case 'artifact-grant':
        services.artifacts.invalidateGrant(change.grantId);
        break;
    }
  };
  const onReset = () => {
    log.info('change listener reconnected; reloading cached state');
    services.apis.invalidate();
    services.applications.reset();
    services.artifacts.clear();
    reloadKeys().catch((err) => log.error({ err }, 'reloading signing keys failed'));
    services.revocations.reload().catch((err) => log.error({ err }, 'reloading revocations failed'));
  };
  return db.listen(CHANGES_CHANNEL, onMessage, onReset);
}
