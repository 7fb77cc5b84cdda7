import { defineChange } from '../../db/change-bus.ts';

/** A JWT was put on the denylist (until `exp`, epoch seconds). */
export const tokenRevoked = defineChange('revoked-token', (m) =>
  typeof m.jti === 'string' && typeof m.exp === 'number' ? { jti: m.jti, exp: m.exp } : null,
);

/** A grant was revoked: the JWTs issued under it are refused until `exp` (epoch seconds). */
export const grantRevoked = defineChange('revoked-grant', (m) =>
  typeof m.grantId === 'string' && typeof m.exp === 'number' ? { grantId: m.grantId, exp: m.exp } : null,
);
