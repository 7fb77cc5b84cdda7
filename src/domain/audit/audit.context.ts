import { AsyncLocalStorage } from 'node:async_hooks';

/** Where a change came from: the request's address and id (never a header, token or body). */
export interface AuditContext {
  ip: string | null;
  requestId: string | null;
}

const current = new AsyncLocalStorage<AuditContext>();

/**
 * Runs `fn` with `context` as the origin of every audit event it records, however deep in the
 * services the recording happens. Chosen over a parameter on every mutation: the services already
 * take the actor (a Principal or an actor string) and nothing else about the request, and the
 * transport that knows the address (http/admin/admin-app.ts) wraps each request once.
 */
export function withAuditContext<T>(context: AuditContext, fn: () => T): T {
  return current.run(context, fn);
}

/** The origin of the change in progress, or nulls (bootstrap steps, tests calling services). */
export function auditContext(): AuditContext {
  return current.getStore() ?? { ip: null, requestId: null };
}
