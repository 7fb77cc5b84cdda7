import type { Executor, Storage } from '../../db/storage.ts';
import type { Page } from '../../lib/pagination.ts';
import { auditContext } from './audit.context.ts';
import type { AuditEvent, ListAuditEvents } from './audit.schema.ts';
import type { AuditRecord, AuditStore } from './audit.store.ts';

export type { AuditRecord };

/**
 * The audit trail. Every mutation of another domain records what it did through `record`, inside
 * its own transaction (STYLE.md §3), so an event exists exactly when its change does. The request
 * it came from (address, request id) is taken from the audit context (audit.context.ts).
 */
export function createAuditService({ store, storage }: { store: AuditStore; storage?: Storage }) {
  return {
    /** Records `event` as part of the transaction `tx`, with the origin of the change in progress. */
    record: (tx: Executor, event: AuditRecord): Promise<void> => store.insert(tx, event, auditContext()),

    /** One page of events, newest first unless asked otherwise, filtered by actor, action, object and time. */
    async list(query: ListAuditEvents): Promise<Page<AuditEvent>> {
      if (!storage) throw new Error('the audit service was built without storage: it can record, not list');
      const { items, count } = await store.findMany(storage.db, query);
      return { items, count, page: query.page, pageSize: query.pageSize };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
