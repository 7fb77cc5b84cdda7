import type { Context, Next } from 'koa';
import { readPresentedClient } from './client-auth.ts';
import { DEVICE_CODE_GRANT_TYPE, type PollPacer, pacePolling } from './device-flow.ts';
import { readProviderForm } from './form-body.ts';
import { checkTokenRequest, setTokenEndpointCors, type TokenCheckDeps, tokenRequestOf } from './token-endpoint-checks.ts';
import type { TokenFastPath } from './token-fast-path.ts';

/**
 * POST /oauth/token in front of oidc-provider: reads the request once, as the library will
 * (form-body.ts), then
 * 1. the fast path answers the plain client credentials requests it can (token-fast-path.ts);
 * 2. Gatehouse's own checks answer what RFC 6749 §5.2 words differently from the library
 *    (token-endpoint-checks.ts);
 * 3. everything else goes to oidc-provider with the body replayed; a device polling with the
 *    device code grant too fast while its request is pending then hears `slow_down` (device-flow.ts).
 * Either step may be left out (`TOKEN_FAST_PATH=false`; the fast path's parity suite runs it alone).
 */
export interface TokenEndpointDeps {
  fastPath?: TokenFastPath | null;
  checks?: TokenCheckDeps | null;
  /** RFC 8628 §3.5 polling pace of the device code grant (device-flow.ts) */
  pacer?: PollPacer | null;
}

export function tokenEndpoint({ fastPath, checks, pacer }: TokenEndpointDeps) {
  return async function tokenEndpointMiddleware(ctx: Context, next: Next): Promise<unknown> {
    const read = await readProviderForm(ctx);
    if (!read) return next();
    const presented = readPresentedClient(ctx.headers.authorization, read.params);
    // For the throttle, which counts failed client authentication per presented id.
    ctx.state.presentedClientId = presented.clientId;
    if (fastPath && (await fastPath.answer(ctx, read, presented))) return;
    const refusal = checks ? await checkTokenRequest(tokenRequestOf(ctx, read.params, presented), checks) : null;
    read.replay();
    if (!refusal) {
      if (!pacer || read.params.grant_type !== DEVICE_CODE_GRANT_TYPE) return next();
      await next();
      return pacePolling(ctx, read.params.device_code, pacer);
    }
    // Answered as oidc-provider's token endpoint answers: its CORS headers, then the error (error-boundary.ts).
    setTokenEndpointCors(ctx);
    throw refusal;
  };
}
