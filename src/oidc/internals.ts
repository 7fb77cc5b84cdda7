import type { IncomingMessage } from 'node:http';
import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { DISCOVERY_PATH } from './routes.ts';

/**
 * The one module that reaches into oidc-provider's internals: prototypes it patches, properties its
 * typings do not declare, behaviour of its private helpers that Gatehouse relies on. Everything
 * else in Gatehouse uses the library's public API (its configuration, `errors`, the Provider and
 * its documented models) and these small functions, each with the reason it exists and a link to
 * the source or issue that makes it necessary. test/unit/oidc-internals.test.ts fails when another
 * file reaches in.
 *
 * Written against oidc-provider 9.13.3 (package.json). On an upgrade, read each function's source
 * link again; the suites that cover each use are named beside it.
 */

/**
 * Hashed client secrets. The metadata's `client_secret` holds the secret's keyed digest
 * (client-metadata.ts), so the library's plain comparison must become a digest comparison.
 * `Client.prototype.compareClientSecret` is the hook the maintainer named for this:
 * https://github.com/panva/node-oidc-provider/issues/631 (called from lib/shared/client_auth.js).
 * Covered by test/oidc/client-credentials.test.ts (wrong secret, rotation).
 */
export function compareClientSecretsWith(provider: Provider, matches: (storedDigest: string, presented: string) => boolean): void {
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: string) {
    return !!this.clientSecret && matches(this.clientSecret, presented);
  };
}

/**
 * Every URL oidc-provider publishes (discovery, and later interaction and device URLs) derives from
 * the issuer, never from the request. The per-request `OIDCContext.prototype.urlFor`
 * (lib/helpers/oidc_context.js) builds on `ctx.href`, which comes from Host / X-Forwarded-Host, so
 * one poisoned request would render discovery for everyone; `Provider.prototype.urlFor`
 * (lib/provider.js) builds on the issuer. There is no option for it. Covered by
 * test/http/host-header.test.ts.
 */
export function publishUrlsFromIssuer(provider: Provider): void {
  provider.OIDCContext.prototype.urlFor = function urlFor(name: string, options?: Record<string, unknown>): string {
    return provider.urlFor(name, options);
  };
}

/** oidc-provider's models that hold opaque tokens Gatehouse introspects and revokes. */
export type OpaqueTokenModel = 'AccessToken' | 'ClientCredentials' | 'RefreshToken';

/** What Gatehouse reads of an opaque token instance (lib/models/*.js: stored payload plus getters). */
export interface OpaqueTokenInstance {
  kind: string;
  jti: string;
  clientId: string;
  accountId?: string;
  grantId?: string;
  exp?: number;
  iat?: number;
  scope?: string;
  aud?: string | string[];
  sid?: string;
  extra?: Record<string, unknown>;
  tokenType?: string;
  readonly isValid: boolean;
  destroy(): Promise<void>;
}

/**
 * An opaque token by its value, through the library's model (which reads the adapter and checks
 * the value's shape). The models are public, but their typings declare neither the payload
 * properties introspection needs (`aud`, `extra`, `grantId`…) nor indexing by model name
 * (lib/models/access_token.js, client_credentials.js, refresh_token.js). Covered by
 * test/oidc/introspection.test.ts and test/oidc/revocation.test.ts.
 */
export function findOpaqueToken(provider: Provider, model: OpaqueTokenModel, value: string): Promise<OpaqueTokenInstance | undefined> {
  const models = provider as unknown as Record<OpaqueTokenModel, { find(value: string): Promise<OpaqueTokenInstance | undefined> }>;
  return models[model].find(value);
}

/**
 * A grant by id (lib/models/grant.js), as the library checks one before honouring a grant-bound
 * token (lib/helpers/grant_authorization.js). Covered by test/oidc/revocation.test.ts.
 */
export async function findGrant(
  provider: Provider,
  grantId: string,
): Promise<{ clientId?: string | undefined; accountId?: string | undefined; isExpired: boolean } | undefined> {
  return provider.Grant.find(grantId);
}

/**
 * The token endpoint's parsed body. `audience` is not one of oidc-provider's parameters, so it
 * never reaches `ctx.oidc.params` (lib/actions/token.js keeps an allow-list); the whole parsed
 * body stays on `ctx.oidc.body` (lib/shared/selective_body.js), which the typings do not declare.
 * Covered by test/oidc/client-credentials.test.ts (audience).
 */
export function parsedBody(ctx: KoaContextWithOIDC): Readonly<Record<string, unknown>> | undefined {
  return (ctx.oidc as unknown as { body?: Record<string, unknown> }).body;
}

/**
 * Sets the `scope` parameter the grant handler will read. The client credentials grant reads
 * `ctx.oidc.params.scope` after `getResourceServerInfo` ran (lib/actions/grants/client_credentials.js),
 * the only way to make "no scope requested" mean "every granted scope" (RFC 6749 §3.3 default);
 * the typings declare params read-only. Covered by test/oidc/client-credentials.test.ts (scope).
 */
export function setRequestedScope(ctx: KoaContextWithOIDC, scope: string | undefined): void {
  (ctx.oidc.params as Record<string, unknown>).scope = scope;
}

/**
 * What `features.resourceIndicators.defaultResource` returns for "no default": the library's own
 * default returns `undefined` (lib/helpers/defaults.js), which its typings do not allow.
 */
export const NO_DEFAULT_RESOURCE = undefined as unknown as string;

/**
 * The value of an extra client metadata property (`extraClientMetadata.properties`) on a Client
 * instance: the library copies them onto the instance (lib/models/client.js), the typings do not
 * declare them. Used by the client-based CORS check (cors.ts), covered by test/http/cors.test.ts.
 */
export function extraClientMetadata(client: object, property: string): unknown {
  return (client as Record<string, unknown>)[property];
}

/** The request id request-context.ts gives every request, on the context oidc-provider passes to its events. */
export function requestIdOf(ctx: object): string | undefined {
  return (ctx as { state?: { reqId?: string } }).state?.reqId;
}

/** oidc-provider's `<endpoint>.error` events, all with the same listener (lib/shared/error_handler.js emits them). */
export function onProtocolErrors(
  provider: Provider,
  events: readonly string[],
  listener: (ctx: Context, err: { error?: string; error_description?: string; error_detail?: string }) => void,
): void {
  // Each event name has its own overload in the typings; a list of them fits none.
  const emitter = provider as unknown as NodeJS.EventEmitter;
  for (const event of events) emitter.on(event, listener);
}

/**
 * The provider as middleware of our own Koa app: the Provider is a Koa app (since v9,
 * `provider.app` is deprecated), and composing its middleware list into ours costs a request one
 * Koa context instead of two (mounting would create a second). `middleware` is Koa's list, which
 * its typings keep private.
 */
export function providerMiddleware(provider: Provider): Middleware {
  const dispatch = compose((provider as unknown as { middleware: Parameters<typeof compose>[0] }).middleware);
  return (ctx: Context, next: Next) => dispatch(ctx as never, next);
}

/**
 * oidc-provider's discovery metadata. The library renders it only in answer to a request
 * (lib/actions/discovery.js); Gatehouse renders it once per provider instance by running the
 * provider's discovery route on the current request's context, with its path swapped. Covered by
 * test/oidc/discovery.test.ts.
 */
export async function renderDiscovery(middleware: Middleware, ctx: Context): Promise<Record<string, unknown> | null> {
  const path = ctx.path;
  ctx.path = DISCOVERY_PATH;
  try {
    await middleware(ctx, async () => {});
  } finally {
    ctx.path = path;
  }
  return ctx.status === 200 && typeof ctx.body === 'object' && ctx.body !== null ? (ctx.body as Record<string, unknown>) : null;
}

/**
 * Lets oidc-provider read a request body Gatehouse already read (form-body.ts): its parser reads
 * `req.iterator()` when `req.readable` (lib/shared/selective_body.js), so both are pointed at the
 * bytes read, followed by whatever the stream still holds when `more` (then the library meets the
 * same over-long body and answers it). Covered by test/http/token-fast-path.test.ts and
 * src/oidc/form-body.test.ts.
 */
export function replayBodyToProvider(req: IncomingMessage, chunks: readonly Buffer[], more: boolean): void {
  const rest = more ? req.iterator.bind(req) : undefined;
  Object.defineProperties(req, {
    readable: { value: true, configurable: true },
    iterator: {
      value: async function* replay() {
        yield* chunks;
        if (rest) yield* rest({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
      },
      configurable: true,
    },
  });
}

/**
 * A grant to extend at consent, as oidc-provider's own example does (example/routes/koa.js:
 * `provider.Grant.find`, then `addOIDCScope`/`addResourceScope` and `save`). Loading a model is
 * kept here with the other model reads. Covered by test/oidc/sign-in/code-flow.test.ts (consent
 * remembered, first-party clients).
 */
export function loadGrant(provider: Provider, grantId: string): Promise<InstanceType<Provider['Grant']> | undefined> {
  return provider.Grant.find(grantId);
}

/**
 * The client oidc-provider resolved for the request, once it has (`ctx.oidc` is set on our own Koa
 * context because the provider's middleware runs in it, internals' providerMiddleware; Koa's
 * typings do not know it). Covered by test/oidc/sign-in/logout.test.ts (the form's CSP).
 */
export function resolvedClientOf(
  ctx: Context,
): { redirectUris?: readonly string[]; postLogoutRedirectUris?: readonly string[] } | undefined {
  return (ctx as unknown as Partial<KoaContextWithOIDC>).oidc?.client;
}
