import { defineChange } from '../../db/change-bus.ts';

/** An application was created, changed or deleted (its client_id). Every instance drops its record. */
export const applicationChanged = defineChange('application', (m) => (typeof m.clientId === 'string' ? { clientId: m.clientId } : null));
