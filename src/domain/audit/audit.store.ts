import type { Prisma } from '../../db/generated/client.ts';
import type { Executor } from '../../db/storage.ts';
import { newId } from '../../lib/ids.ts';
import { pageWindow } from '../../lib/pagination.ts';
import type { AuditContext } from './audit.context.ts';
import type { AuditEvent, ListAuditEvents } from './audit.schema.ts';

/** One audit event: who did what to which object. Never a secret. */
export interface AuditRecord {
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | undefined;
  details?: Record<string, unknown>;
}

export interface AuditStore {
  insert(db: Executor, record: AuditRecord, origin: AuditContext): Promise<void>;
  findMany(db: Executor, query: ListAuditEvents): Promise<{ items: AuditEvent[]; count: number }>;
}

export function createAuditStore(): AuditStore {
  return {
    async insert(db, record, origin) {
      await db.auditEvent.create({
        data: {
          id: newId('evt'),
          actor: record.actor,
          action: record.action,
          targetType: record.targetType,
          targetId: record.targetId ?? null,
          details: (record.details ?? {}) as object,
          ip: origin.ip,
          requestId: origin.requestId,
        },
      });
    },
    async findMany(db, query) {
      const where: Prisma.AuditEventWhereInput = {
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.action ? { action: query.action.endsWith('.') ? { startsWith: query.action } : query.action } : {}),
        ...(query.targetType ? { targetType: query.targetType } : {}),
        ...(query.targetId ? { targetId: query.targetId } : {}),
        ...(query.since || query.until
          ? { at: { ...(query.since ? { gte: query.since } : {}), ...(query.until ? { lt: query.until } : {}) } }
          : {}),
      };
      const direction = query.orderBy === 'at' ? 'asc' : 'desc';
      const [rows, count] = await Promise.all([
        db.auditEvent.findMany({ where, orderBy: [{ at: direction }, { id: direction }], ...pageWindow(query) }),
        db.auditEvent.count({ where }),
      ]);
      return {
        items: rows.map((r) => ({
          id: r.id,
          at: r.at,
          actor: r.actor,
          action: r.action,
          targetType: r.targetType,
          targetId: r.targetId,
          details: (r.details ?? {}) as Record<string, unknown>,
          ip: r.ip,
          requestId: r.requestId,
        })),
        count,
      };
    },
  };
}
