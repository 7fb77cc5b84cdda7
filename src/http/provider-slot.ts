import type { Context, Next } from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';

/**
 * Holds the oidc-provider instance currently serving. oidc-provider reads its keys once, at
 * construction; a key change builds a new instance and `replace` swaps it in. Requests already
 * inside the old instance finish there; new ones reach the new one.
 *
 * The provider is a Koa app; its middleware is composed into ours rather than mounted with a
 * second Koa context, so a request costs one context, not two.
 */
export function createProviderSlot(initial: Provider) {
  let current = initial;
  let dispatch = compose(initial.middleware as Parameters<typeof compose>[0]);
  return {
    get current(): Provider {
      return current;
    },
    replace(next: Provider): void {
      current = next;
      dispatch = compose(next.middleware as Parameters<typeof compose>[0]);
    },
    middleware(ctx: Context, next: Next): Promise<unknown> {
      return dispatch(ctx as never, next);
    },
  };
}

export type ProviderSlot = ReturnType<typeof createProviderSlot>;
