import { defineChange } from '../../db/change-bus.ts';

/**
 * The set of permissions changed (one created or deleted): what superusers hold, what an API
 * defines and what roles contain may all differ. Rare, so caches drop everything.
 */
export const PermissionsChanged = defineChange('permission', () => ({}));

/** The permissions granted to one application (its client-credentials tokens) changed. */
export const ApplicationPermissionsChanged = defineChange('application-permissions', (m) =>
  typeof m.applicationId === 'string' ? { applicationId: m.applicationId } : null,
);
