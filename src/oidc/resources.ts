import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';
import { checkTarget, chooseApi, isRefusal, type Refusal, requestedScopes } from './client-credentials-policy.ts';
import { NO_DEFAULT_RESOURCE, parsedBody, setRequestedScope } from './internals.ts';

/**
 * Resource indicators (RFC 8707) and the Auth0-style `audience` parameter.
 * https://github.com/panva/node-oidc-provider/tree/main/docs#featuresresourceindicators
 *
 * oidc-provider only knows `resource`. `audience` is not one of its token-endpoint parameters, so
 * it never reaches `ctx.oidc.params`; we read it from the parsed body and feed it in through
 * `defaultResource`, which oidc-provider consults whenever `resource` is absent. Everything after
 * that (absolute-URI checks, one resource per client-credentials request) is the library's.
 */

function isClientCredentials(ctx: KoaContextWithOIDC): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
}

/** The `audience` form parameter, if sent exactly once. */
function requestedAudience(ctx: KoaContextWithOIDC): string | undefined {
  const body = parsedBody(ctx);
  const value = ctx.oidc.route === 'token' ? body?.audience : ctx.oidc.params?.audience;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new errors.InvalidRequest('audience parameter must only be provided once');
  return value;
}

export interface ResourceDeps {
  apis: ApiResourceService;
  applications: ApplicationService;
  keyRing: () => KeyRing;
}

/** A refusal of the client credentials policy as the error oidc-provider answers with. */
function toProviderError(refused: Refusal): Error {
  if (refused.refusal === 'invalid_scope') return new errors.InvalidScope(refused.description, refused.scope as string);
  return new errors.InvalidTarget(refused.description);
}

export function resourceIndicators({ apis, applications, keyRing }: ResourceDeps) {
  return {
    enabled: true,

    async defaultResource(ctx: KoaContextWithOIDC, client?: { clientId: string }, oneOf?: string | string[]) {
      const audience = requestedAudience(ctx);
      if (audience !== undefined) return audience;
      if (oneOf) return oneOf;
      if (client && isClientCredentials(ctx)) {
        // Called only when `resource` is absent: the policy picks the client's only API, or refuses.
        const record = await applications.findClient(client.clientId);
        const chosen = chooseApi({}, record?.apis ?? []);
        if (isRefusal(chosen)) throw toProviderError(chosen);
        return chosen.identifier;
      }
      return NO_DEFAULT_RESOURCE;
    },

    useGrantedResource: async () => true,

    async getResourceServerInfo(ctx: KoaContextWithOIDC, identifier: string, client: { clientId: string }): Promise<ResourceServer> {
      const params = { audience: requestedAudience(ctx), scope: ctx.oidc.params?.scope as string | undefined };
      const api = await apis.resolve(identifier);
      const grants = (await applications.findClient(client.clientId))?.apis ?? [];
      const target = checkTarget(params, identifier, api, grants);
      if (isRefusal(target)) throw toProviderError(target);
      const { api: registered, grant } = target;

      if (isClientCredentials(ctx)) {
        const scopes = requestedScopes(params.scope, grant);
        if (isRefusal(scopes)) throw toProviderError(scopes);
        // RFC 6749 §3.3: no scope requested means the pre-defined default, here every granted scope.
        // oidc-provider then grants the requested scopes this resource server has (client_credentials.js).
        if (!params.scope) setRequestedScope(ctx, scopes.scopes.join(' ') || undefined);
      }

      const info: ResourceServer = {
        audience: registered.identifier,
        scope: grant.scopes.join(' '),
        accessTokenTTL: registered.accessTokenTtlSeconds,
        accessTokenFormat: registered.accessTokenFormat,
      };
      if (registered.accessTokenFormat === 'jwt') {
        info.jwt = { sign: { alg: registered.signingAlg, kid: keyRing().activeKid[registered.signingAlg] } };
      }
      return info;
    },
  };
}
