import { defineChange } from '../../db/change-bus.ts';

/** An API was registered or removed (its identifier). Every instance reloads its APIs. */
export const apiChanged = defineChange('api', (m) => (typeof m.identifier === 'string' ? { identifier: m.identifier } : null));
