import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { onProtocolErrors, requestIdOf } from './internals.ts';
import { noteProviderServerError } from './protocol-answers.ts';

/**
 * oidc-provider's events, as log lines. 4xx protocol errors are the caller's mistake and go to
 * debug; `server_error` is ours and goes to error, unless the database was away: that answer
 * becomes a 503 (protocol-answers.ts), logged once per outage rather than once per request.
 * Nothing here logs a token or a secret.
 */
export function subscribeProviderEvents(provider: Provider, log: Logger): void {
  provider.on('server_error', (ctx, err) => {
    if (noteProviderServerError(ctx, err)) return;
    log.error({ err, reqId: requestIdOf(ctx), path: ctx.path }, 'oidc-provider server error');
  });
  onProtocolErrors(provider, PROTOCOL_ERROR_EVENTS, (ctx, err) => {
    log.debug(
      {
        reqId: requestIdOf(ctx),
        path: ctx.path,
        error: err.error,
        error_description: err.error_description,
        error_detail: err.error_detail,
      },
      'protocol error',
    );
  });
}

const PROTOCOL_ERROR_EVENTS = [
  'grant.error',
  'introspection.error',
  'revocation.error',
  'authorization.error',
  'userinfo.error',
  'jwks.error',
  'discovery.error',
] as const;
