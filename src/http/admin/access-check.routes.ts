import { z } from 'zod';
import type { AccessService } from '../../domain/access/access.service.ts';
import { Codename } from '../../domain/permissions/codename.ts';
import { defineRoute } from './route.ts';

/**
 * POST /access-check     which of these permissions does the caller hold? One round trip, for an
 *                        API that wants a "can I write?" probe before it does work. A POST only
 *                        because the question has a body: it changes nothing, and `read`-scoped
 *                        credentials may ask it.
 */
export const AccessCheckBody = z.strictObject({
  /** the codenames to check, e.g. `["add_mediasource", "change_mediasource"]` */
  permissions: z.array(Codename).min(1).max(500),
  /**
   * the identifier of the API the codenames belong to: a codename of another API (or of none) is
   * then denied, even to a superuser
   */
  api: z.string().min(1).max(2048).optional(),
});

export const AccessCheckWire = z.object({
  /** every asked permission is granted */
  allowed: z.boolean(),
  /** the asked codenames the caller holds, in the order asked, each once */
  granted: z.array(z.string()),
  denied: z.array(z.string()),
});

export function accessCheckRoutes({ access }: { access: Pick<AccessService, 'checkForApi'> }) {
  return [
    defineRoute({
      method: 'post',
      path: '/access-check',
      summary: 'Which of the given permissions the caller holds',
      permission: null,
      readsOnly: true,
      body: AccessCheckBody,
      response: AccessCheckWire,
      status: [200],
      handle: async ({ principal, body }) => {
        const { granted, denied } = await access.checkForApi(principal, body.permissions, body.api);
        return { body: { allowed: denied.length === 0, granted, denied } };
      },
    }),
  ];
}
