import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import { providerMiddleware } from './internals.ts';

/**
 * Holds the oidc-provider instance currently serving. oidc-provider reads its keys once, at
 * construction; a key change builds a new instance and `replace` swaps it in. Requests already
 * inside the old instance finish there; new ones reach the new one.
 *
 * The provider is a Koa app; its middleware is composed into ours rather than mounted with a
 * second Koa context, so a request costs one context, not two (internals.ts).
 */
export function createProviderSlot(initial: Provider) {
  let current = initial;
  let dispatch: Middleware = providerMiddleware(initial);
  return {
    get current(): Provider {
      return current;
    },
    replace(next: Provider): void {
      current = next;
      dispatch = providerMiddleware(next);
    },
    middleware(ctx: Context, next: Next): Promise<unknown> {
      return dispatch(ctx, next) as Promise<unknown>;
    },
  };
}

export type ProviderSlot = ReturnType<typeof createProviderSlot>;
