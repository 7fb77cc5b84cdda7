import { z } from 'zod';
import { PageQuery } from '../../lib/pagination.ts';

export const AuditOrder = z.enum(['at', '-at']);

export const ListAuditEvents = PageQuery.extend({
  actor: z.string().max(200).optional(),
  /** an exact action (`user.created`) or, ending in `.`, every action of a kind (`user.`) */
  action: z.string().max(200).optional(),
  targetType: z.string().max(100).optional(),
  targetId: z.string().max(200).optional(),
  since: z.date().optional(),
  until: z.date().optional(),
  orderBy: AuditOrder.optional(),
});
export type ListAuditEvents = z.infer<typeof ListAuditEvents>;

/** One audit event as it is listed: who did what to which object, when, from where. */
export interface AuditEvent {
  id: string;
  at: Date;
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  requestId: string | null;
}
