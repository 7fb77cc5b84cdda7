import type { Tx } from '../../db/database.ts';
import { newId } from '../../lib/ids.ts';

export interface AuditRecord {
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | undefined;
  details?: Record<string, unknown>;
}

/** Writes audit events. Always called with the transaction of the change it records. */
export function createAuditStore() {
  return {
    async insert(tx: Tx, record: AuditRecord): Promise<void> {
      await tx.auditEvent.create({
        data: {
          id: newId('evt'),
          actor: record.actor,
          action: record.action,
          targetType: record.targetType,
          targetId: record.targetId ?? null,
          details: (record.details ?? {}) as object,
        },
      });
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
