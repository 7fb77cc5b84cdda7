import type { Executor } from '../../db/storage.ts';
import type { AuditRecord, AuditStore } from './audit.store.ts';

export type { AuditRecord };

/**
 * The audit trail. Every mutation of another domain records what it did through `record`, inside
 * its own transaction (STYLE.md §3), so an event exists exactly when its change does.
 */
export function createAuditService({ store }: { store: AuditStore }) {
  return {
    /** Records `event` as part of the transaction `tx`. */
    record: (tx: Executor, event: AuditRecord): Promise<void> => store.insert(tx, event),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
