import { defineChange } from '../../db/change-bus.ts';

/** A JWT was put on the denylist (until `exp`, epoch seconds). */
export const tokenRevoked = defineChange('revoked-token', (m) =>
  typeof m.jti === 'string' && typeof m.exp === 'number' ? { jti: m.jti, exp: m.exp } : null,
);
