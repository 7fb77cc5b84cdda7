import { defineChange } from '../../db/change-bus.ts';

/** An organisation was renamed or deleted: caches listing it among a user's organisations drop it. */
export const OrganizationChanged = defineChange('organization', (m) =>
  typeof m.organizationId === 'string' ? { organizationId: m.organizationId } : null,
);

/** One user's membership of one organisation was added, changed or removed. */
export const MembershipChanged = defineChange('membership', (m) =>
  typeof m.organizationId === 'string' && typeof m.userId === 'string' ? { organizationId: m.organizationId, userId: m.userId } : null,
);
