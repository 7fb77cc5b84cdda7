import { defineChange } from '../../db/change-bus.ts';

/**
 * An API token was created, changed (revoked, re-declared) or deleted. `digest` is the keyed
 * digest of its secret (the cache key; not a secret itself); `declared` tells instances to reload
 * the set of declared digests they screen operator-chosen secrets with.
 */
export const ApiTokenChanged = defineChange('api-token', (m) =>
  typeof m.digest === 'string' && typeof m.userId === 'string'
    ? { digest: m.digest, userId: m.userId, declared: m.declared === true }
    : null,
);
