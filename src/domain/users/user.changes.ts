import { defineChange } from '../../db/change-bus.ts';

/**
 * A user row changed (created, updated, deleted, password set). Effective permissions and API
 * token caches of that user drop what they hold. Roles and memberships announce their own kinds.
 */
export const UserChanged = defineChange('user', (m) => (typeof m.userId === 'string' ? { userId: m.userId } : null));
