import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { ZodError, z } from 'zod';
import type { AccessService } from '../../domain/access/access.service.ts';
import { holds, type Principal } from '../../domain/access/principal.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Authenticated, Credential } from '../middleware/authenticate.ts';

/**
 * The OpenID AuthZEN Authorization API 1.0 (https://openid.net/specs/authorization-api-1_0.html),
 * Gatehouse as the policy decision point (PDP) for its own permissions:
 *
 * POST /access/v1/evaluation                  §6, one decision
 * POST /access/v1/evaluations                 §7, several in one round trip ("boxcarring")
 * GET  /.well-known/authzen-configuration     §9, PDP metadata
 *
 * The mapping onto Gatehouse's model:
 * - `action.name` is a permission codename (`add_mediasource`); the decision is whether the subject
 *   holds it. Permissions are model-level (like Django's), so the resource's `type` and `id` do not
 *   change the decision, with one exception: a resource `{ "type": "api", "id": "<identifier>" }`
 *   asks about that API's codenames (one of another API is denied, as `POST /api/v1/access-check`
 *   with `api`). `context` and `properties` are accepted and not used.
 * - `subject` is `{ "type": "user", "id": "<user id, the sub of Gatehouse's tokens>" }` or
 *   `{ "type": "application", "id": "<client_id>" }`. Another type is denied.
 * - The caller is the policy enforcement point (PEP), authenticated as for `/api/v1` (Token, Bearer,
 *   Basic). It may always ask about itself: the subject it authenticated as (the user of its token,
 *   or its application), answered with its credential's permissions (a `read` token's narrowing
 *   applies). Asking about **another** subject needs the permission `view_access` (a built-in
 *   codename; grant it to the PEP's role, or to its application for client-credentials PEPs):
 *   without it the single evaluation answers 403, and a batch item `decision: false` with
 *   `context.error.status` 403 (§7.2 "errors in individual evaluations"). Another subject is
 *   answered with its full effective permissions.
 * - Errors that concern the whole request follow the HTTPS binding (§10.1.2): 400 for a malformed
 *   body (a required field missing, a wrong type, not a JSON object, not `application/json`),
 *   401 unauthenticated (with `WWW-Authenticate`), 403 forbidden, 500; the body is the error
 *   message as `text/plain`. A decision, allow or deny, is always a 200. Unknown fields are ignored
 *   (§10.1.1). `X-Request-ID` is echoed (request-context.ts).
 */

export const AUTHZEN_METADATA_PATH = '/.well-known/authzen-configuration';
export const AUTHZEN_BASE = '/access/v1';

/** The permission a PEP needs to ask about a subject other than itself. */
export const VIEW_ACCESS = 'view_access';

/** Most evaluations in one request (the HTTPS binding asks PDPs to bound payloads, §12.7). */
const MAX_EVALUATIONS = 500;

const Properties = z.record(z.string(), z.unknown());
const Entity = z.object({ type: z.string().max(255), id: z.string().max(2048), properties: Properties.optional() });
const Action = z.object({ name: z.string().max(255), properties: Properties.optional() });
const Fields = z.object({
  subject: Entity.optional(),
  action: Action.optional(),
  resource: Entity.optional(),
  context: Properties.optional(),
});
const EvaluationsRequest = Fields.extend({
  evaluations: z.array(Fields).max(MAX_EVALUATIONS).optional(),
  options: z
    .object({ evaluations_semantic: z.enum(['execute_all', 'deny_on_first_deny', 'permit_on_first_permit']).optional() })
    .optional(),
});
type Fields = z.infer<typeof Fields>;
type Evaluation = Required<Pick<Fields, 'subject' | 'action' | 'resource'>> & Pick<Fields, 'context'>;

interface Decision {
  decision: boolean;
  context?: Record<string, unknown>;
}

export interface AuthzenDeps {
  issuer: string;
  access: Pick<AccessService, 'checkForApi' | 'principalFor' | 'principalForApplication'>;
  applications: Pick<ApplicationService, 'findClient'>;
  bodyLimitBytes: number;
}

const badRequest = (message: string) => new AppError('authzen.bad_request', message, { status: 400 });

/** §7.1.1: an item's own subject, action, resource and context replace the top-level defaults. */
function complete(defaults: Fields, item: Fields, where: string): Evaluation {
  const merged = { ...defaults, ...item };
  for (const key of ['subject', 'action', 'resource'] as const) {
    if (merged[key] === undefined) throw badRequest(`${where}: ${key} is required`);
  }
  return merged as Evaluation;
}

/** Whether `subject` is the caller itself (then its own credential answers). */
function isCaller(subject: Evaluation['subject'], principal: Principal, credential: Credential | undefined): boolean {
  if (subject.type === 'user') return principal.userId !== null && principal.userId === subject.id;
  if (subject.type === 'application')
    return credential?.kind === 'bearer' && credential.subject === 'application' && credential.clientId === subject.id;
  return false;
}

export function createAuthzenRouter(deps: AuthzenDeps): Router {
  const { access, applications } = deps;

  /** The principal whose permissions answer for `subject`, or a Decision when there is none. */
  async function subjectPrincipal(subject: Evaluation['subject']): Promise<Principal | Decision> {
    if (subject.type === 'user') {
      return (await access.principalFor(subject.id)) ?? { decision: false, context: { reason: 'unknown or inactive subject' } };
    }
    if (subject.type === 'application') {
      const client = await applications.findClient(subject.id);
      if (!client?.isActive) return { decision: false, context: { reason: 'unknown or inactive subject' } };
      return access.principalForApplication(client);
    }
    return {
      decision: false,
      context: { reason: `subject type ${JSON.stringify(subject.type)} is not known here: use user or application` },
    };
  }

  /** One decision; throws a 403 AppError when the caller may not ask about this subject. */
  async function evaluate(caller: Authenticated, evaluation: Evaluation): Promise<Decision> {
    let principal: Principal;
    if (isCaller(evaluation.subject, caller.principal, caller.credential)) {
      principal = caller.principal;
    } else {
      if (!holds(caller.principal, VIEW_ACCESS)) {
        throw new AppError('authzen.forbidden', `asking about another subject needs the permission ${VIEW_ACCESS}`, { status: 403 });
      }
      const found = await subjectPrincipal(evaluation.subject);
      if ('decision' in found) return found;
      principal = found;
    }
    const api = evaluation.resource.type === 'api' ? evaluation.resource.id : undefined;
    const { granted } = await access.checkForApi(principal, [evaluation.action.name], api);
    return { decision: granted.length === 1 };
  }

  /** A batch item's decision: an error in it is its own `decision: false` (§7.2), not the request's. */
  async function evaluateItem(caller: Authenticated, evaluation: Evaluation): Promise<Decision> {
    try {
      return await evaluate(caller, evaluation);
    } catch (err) {
      if (err instanceof AppError && err.expose)
        return { decision: false, context: { error: { status: err.status, message: err.message } } };
      throw err;
    }
  }

  const router = new Router();

  router.post(`${AUTHZEN_BASE}/evaluation`, async (ctx) => {
    const caller = authenticated(ctx);
    const body = Fields.parse(await readJsonObject(ctx, deps.bodyLimitBytes));
    ctx.body = await evaluate(caller, complete(body, {}, 'the request'));
  });

  router.post(`${AUTHZEN_BASE}/evaluations`, async (ctx) => {
    const caller = authenticated(ctx);
    const { evaluations, options, ...defaults } = EvaluationsRequest.parse(await readJsonObject(ctx, deps.bodyLimitBytes));
    // §7.1: without items (absent or empty) the request is a single evaluation, answered as one.
    if (!evaluations?.length) {
      ctx.body = await evaluate(caller, complete(defaults, {}, 'the request'));
      return;
    }
    const items = evaluations.map((item, i) => complete(defaults, item, `evaluations[${i}]`));
    const semantic = options?.evaluations_semantic ?? 'execute_all';
    const results: Decision[] = [];
    for (const item of items) {
      const result = await evaluateItem(caller, item);
      results.push(result);
      // §7.1.2.1: the short-circuiting semantics stop at the first deny, or the first permit.
      if (semantic === 'deny_on_first_deny' && !result.decision) {
        result.context ??= { code: '200', reason: 'deny_on_first_deny' };
        break;
      }
      if (semantic === 'permit_on_first_permit' && result.decision) break;
    }
    ctx.body = { evaluations: results };
  });

  router.get(AUTHZEN_METADATA_PATH, (ctx) => {
    // §9.2.2: the PDP's identifier is the issuer; its endpoints derive from it, never from the request.
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = {
      policy_decision_point: deps.issuer,
      access_evaluation_endpoint: `${deps.issuer}${AUTHZEN_BASE}/evaluation`,
      access_evaluations_endpoint: `${deps.issuer}${AUTHZEN_BASE}/evaluations`,
    };
  });

  return router;
}

function authenticated(ctx: Context): Authenticated {
  const principal = ctx.state.principal;
  if (!principal) throw new AppError('auth.unauthenticated', 'authentication required', { status: 401 });
  return { principal, credential: ctx.state.credential ?? { kind: 'operator' }, readOnly: false };
}

/** §10.1: a POST with `Content-Type: application/json` whose body is a JSON object. */
async function readJsonObject(ctx: Context, limitBytes: number): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw badRequest('send the request as Content-Type: application/json');
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('the body must be a JSON object');
  return value as Record<string, unknown>;
}

const tooLarge = (limit: number) => new AppError('request.too_large', `the body is larger than ${limit} bytes`, { status: 413 });

/**
 * §10.1.2: an error that concerns the whole request is its status and an error message string
 * (`text/plain`). 5xx (the database away, a fault) stays with the error boundary.
 */
export async function authzenErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    if (err instanceof ZodError) {
      const issue = err.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'the request';
      answerText(ctx, 400, `${where}: ${issue?.message ?? 'invalid'}`);
      return;
    }
    if (err instanceof AppError && err.expose) {
      answerText(ctx, err.status, err.message);
      return;
    }
    throw err;
  }
}

function answerText(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = message;
}
