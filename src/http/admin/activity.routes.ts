import { z } from 'zod';
import type { Services } from '../../container.ts';
import type { AuditEvent } from '../../domain/audit/audit.schema.ts';
import { defineRoute } from './route.ts';
import { ById, iso, listQuery, pageBody, paginated, paging, QueryTime, Timestamp } from './wire.ts';

/**
 * GET /activity                      audit events (filter: actor, action, object_type, object_id, since, until)
 * GET /applications/:id/activity     the events of one application (whoever may see it)
 *
 * Events never carry a secret: the services that record them name objects, not credentials.
 */
export const ActivityWire = z.object({
  id: z.string(),
  type: z.literal('activity'),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  object_type: z.string(),
  object_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
  request_id: z.string().nullable(),
});

export function activityToWire(e: AuditEvent): z.infer<typeof ActivityWire> {
  return {
    id: e.id,
    type: 'activity',
    at: iso(e.at),
    actor: e.actor,
    action: e.action,
    object_type: e.targetType,
    object_id: e.targetId,
    details: e.details,
    ip: e.ip,
    request_id: e.requestId,
  };
}

const Order = ['-at', 'at'] as const;

export function activityRoutes({ audit, applications }: Pick<Services, 'audit' | 'applications'>) {
  return [
    defineRoute({
      method: 'get',
      path: '/activity',
      tag: 'activity',
      summary: 'List audit events, newest first',
      permission: 'view_activity',
      list: true,
      query: listQuery(Order, {
        actor: z.string().max(200).optional().meta({ description: '`user:<id>`, `token:<id>`, `cli:<os user>` or `system`' }),
        action: z.string().max(200).optional().meta({ description: 'an action (`user.created`), or a kind ending in `.` (`user.`)' }),
        object_type: z.string().max(100).optional(),
        object_id: z.string().max(200).optional(),
        since: QueryTime.optional().meta({ description: 'events at or after this time (ISO 8601)' }),
        until: QueryTime.optional().meta({ description: 'events before this time (ISO 8601)' }),
      }),
      response: paginated(ActivityWire),
      status: [200, 400, 401, 403],
      async handle({ query, ctx }) {
        const page = await audit.list({
          ...paging(query),
          actor: query.actor,
          action: query.action,
          targetType: query.object_type,
          targetId: query.object_id,
          since: query.since ? new Date(query.since) : undefined,
          until: query.until ? new Date(query.until) : undefined,
          orderBy: query.order_by,
        });
        return { body: pageBody(ctx, page, activityToWire) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/applications/:id/activity',
      tag: 'applications',
      summary: 'List the audit events of one application (visible to whoever may see the application)',
      permission: 'view_application',
      own: true,
      list: true,
      params: ById,
      query: listQuery(Order, {}),
      response: paginated(ActivityWire),
      status: [200, 400, 401, 403, 404],
      async handle({ params, query, principal, ctx }) {
        await applications.getVisible(principal, params.id);
        const page = await audit.list({ ...paging(query), targetType: 'application', targetId: params.id, orderBy: query.order_by });
        return { body: pageBody(ctx, page, activityToWire) };
      },
    }),
  ];
}
