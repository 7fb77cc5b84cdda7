import type { Executor } from '../../db/storage.ts';
import { newId } from '../../lib/ids.ts';

/** One audit event: who did what to which object. Never a secret. */
export interface AuditRecord {
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | undefined;
  details?: Record<string, unknown>;
}

export interface AuditStore {
  insert(db: Executor, record: AuditRecord): Promise<void>;
}

export function createAuditStore(): AuditStore {
  return {
    async insert(db, record) {
      await db.auditEvent.create({
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
