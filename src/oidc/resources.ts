import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';

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
  const body = (ctx.oidc as unknown as { body?: Record<string, unknown> }).body;
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

export function resourceIndicators({ apis, applications, keyRing }: ResourceDeps) {
  return {
    enabled: true,

    async defaultResource(ctx: KoaContextWithOIDC, client?: { clientId: string }, oneOf?: string | string[]) {
      const audience = requestedAudience(ctx);
      if (audience !== undefined) return audience;
      if (oneOf) return oneOf;
      if (client && isClientCredentials(ctx)) {
        // RFC 8707 §2 lets the server pick a default: the one API the client is granted, if only one.
        const record = await applications.findClient(client.clientId);
        const granted = record?.apis ?? [];
        if (granted.length === 1 && granted[0]) return granted[0].identifier;
        throw new errors.InvalidTarget(
          granted.length === 0
            ? 'this client has not been granted any API'
            : 'this client may request tokens for several APIs: name one with the audience or resource parameter',
        );
      }
      return undefined as unknown as string;
    },

    useGrantedResource: async () => true,

    async getResourceServerInfo(ctx: KoaContextWithOIDC, identifier: string, client: { clientId: string }): Promise<ResourceServer> {
      const audience = requestedAudience(ctx);
      if (audience !== undefined && audience !== identifier) {
        throw new errors.InvalidTarget('audience and resource name different APIs');
      }
      const api = await apis.resolve(identifier);
      if (!api) throw new errors.InvalidTarget('no API is registered with this identifier');
      const record = await applications.findClient(client.clientId);
      const grant = record?.apis.find((g) => g.identifier === identifier);
      if (!grant) throw new errors.InvalidTarget('this client is not allowed to request tokens for this API');

      if (isClientCredentials(ctx)) {
        const requested = ctx.oidc.params?.scope as string | undefined;
        if (requested) {
          // RFC 6749 §5.2 invalid_scope, rather than oidc-provider's silent filtering.
          const refused = requested.split(' ').filter((s) => s && !grant.scopes.includes(s));
          if (refused.length) throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));
        } else {
          // RFC 6749 §3.3: no scope requested means the pre-defined default, here every granted scope.
          (ctx.oidc.params as Record<string, unknown>).scope = grant.scopes.join(' ') || undefined;
        }
      }

      const info: ResourceServer = {
        audience: api.identifier,
        scope: grant.scopes.join(' '),
        accessTokenTTL: api.accessTokenTtlSeconds,
        accessTokenFormat: api.accessTokenFormat,
      };
      if (api.accessTokenFormat === 'jwt') {
        info.jwt = { sign: { alg: api.signingAlg, kid: keyRing().activeKid[api.signingAlg] } };
      }
      return info;
    },
  };
}
