import { defineChange } from '../../db/change-bus.ts';

/**
 * A role changed: renamed, deleted, its permissions edited (no `userId`), or assigned to or taken
 * from one user (`userId`). Effective-permission caches drop the users concerned.
 */
export const RoleChanged = defineChange('role', (m) =>
  typeof m.roleId === 'string' ? { roleId: m.roleId, ...(typeof m.userId === 'string' ? { userId: m.userId } : {}) } : null,
);
