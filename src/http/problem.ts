import { STATUS_CODES } from 'node:http';
import type { Context } from 'koa';

/**
 * RFC 9457 problem details, with Gatehouse's dotted `code`.
 *
 * `type` is a stable URI per error code, `https://gatehouse.dev/problems/<code>`: the same on every
 * deployment, so a client matches on it (RFC 9457 §3.1.1: "the primary identifier for the problem
 * type") without knowing the server's address. The admin API's page (`/api/v1/docs`) lists the
 * codes. `code` stays for the clients that already read it.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  details?: Record<string, unknown>;
}

export const PROBLEM_TYPE_BASE = 'https://gatehouse.dev/problems/';

/** The problem type URI of an error code (`user.not_found` → `https://gatehouse.dev/problems/user.not_found`). */
export function problemType(code: string): string {
  return `${PROBLEM_TYPE_BASE}${encodeURIComponent(code)}`;
}

export function sendProblem(ctx: Context, status: number, code: string, detail: string, details?: Record<string, unknown>): void {
  const problem: Problem = { type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail, code };
  if (details) problem.details = details;
  ctx.status = status;
  // An error is about this request only: no cache may keep it (nor replay it to someone else).
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/problem+json';
  ctx.body = problem;
}
