import { defineChange } from '../../db/change-bus.ts';

/** Keys were created, rotated or revoked. Every instance reloads its key ring. */
export const keysChanged = defineChange('keys', () => ({}));
