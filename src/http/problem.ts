import { STATUS_CODES } from 'node:http';
import type { Context } from 'koa';

/** RFC 9457 problem details, with Gatehouse's dotted `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  details?: Record<string, unknown>;
}

export function sendProblem(ctx: Context, status: number, code: string, detail: string, details?: Record<string, unknown>): void {
  const problem: Problem = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code };
  if (details) problem.details = details;
  ctx.status = status;
  // An error is about this request only: no cache may keep it (nor replay it to someone else).
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/problem+json';
  ctx.body = problem;
}
