import { defineChange } from '../../db/change-bus.ts';

/** A stored model instance was written, consumed or deleted: the row stored under `digest`. */
export const artifactChanged = defineChange('artifact', (m) =>
  typeof m.model === 'string' && typeof m.digest === 'string' ? { model: m.model, digest: m.digest } : null,
);

/** Everything issued under a grant was revoked. */
export const artifactGrantRevoked = defineChange('artifact-grant', (m) => (typeof m.grantId === 'string' ? { grantId: m.grantId } : null));
