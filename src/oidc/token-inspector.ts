import { createLocalJWKSet, decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import type { KeyRing } from '../domain/signing-keys/signing-key.schema.ts';
import type { TokenRevocationService } from '../domain/token-revocations/token-revocation.service.ts';
import type { Clock } from '../lib/clock.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';
import { findGrant, findOpaqueToken } from './internals.ts';
import { audiencesOf, mayIntrospect, type PolicyCaller, type TokenKind, type TokenParties } from './introspection-policy.ts';

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) for every token Gatehouse issues.
 * oidc-provider's own endpoints refuse JWT access tokens (it does not store them), so Gatehouse
 * answers both endpoints: JWTs are verified against our keys and checked against the `jti`
 * denylist; opaque tokens are looked up through oidc-provider's models.
 */

export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

/** What the caller learns about a token it presented, before any policy is applied. */
export type InspectedToken =
  | { kind: 'jwt'; payload: JWTPayload & { client_id?: string; scope?: string } }
  | { kind: 'opaque'; token: OpaqueToken };

interface OpaqueToken {
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
  isValid: boolean;
  destroy(): Promise<void>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(value: string): boolean {
  if (!JWT_SHAPE.test(value)) return false;
  try {
    decodeProtectedHeader(value);
    return true;
  } catch {
    return false;
  }
}

export interface TokenInspectorDeps {
  issuer: string;
  applications: Pick<ApplicationService, 'findClient'>;
  apis: Pick<ApiResourceService, 'resolve'>;
  revocations: TokenRevocationService;
  artifacts: OidcArtifactService;
  provider: () => Provider;
  keyRing: () => KeyRing;
  clock: Clock;
}

type JwtClaims = JWTPayload & { client_id?: string; scope?: string };

type OpaqueModel = 'AccessToken' | 'ClientCredentials' | 'RefreshToken';
const ACCESS_FIRST: OpaqueModel[] = ['AccessToken', 'ClientCredentials', 'RefreshToken'];
const REFRESH_FIRST: OpaqueModel[] = ['RefreshToken', 'AccessToken', 'ClientCredentials'];

/** What each of oidc-provider's token models is, for the policy. */
const KIND_OF_MODEL: Record<string, TokenKind> = {
  AccessToken: 'access_token',
  ClientCredentials: 'access_token',
  RefreshToken: 'refresh_token',
};

const INACTIVE = { active: false } as const;

/** The facts of a token the introspection policy (introspection-policy.ts) decides on. */
export function partiesOf(found: InspectedToken): TokenParties | null {
  if (found.kind === 'jwt') {
    const { client_id, aud } = found.payload;
    // Only access tokens are signed with typ at+jwt (verifyJwt requires it).
    return { kind: 'access_token', clientId: typeof client_id === 'string' ? client_id : undefined, audiences: audiencesOf(aud) };
  }
  const kind = KIND_OF_MODEL[found.token.kind];
  return kind ? { kind, clientId: found.token.clientId, audiences: audiencesOf(found.token.aud) } : null;
}

/** How many verified JWTs to remember (per key ring); the map is emptied when it is full. */
const VERIFIED_LIMIT = 10_000;

export function createTokenInspector({ issuer, applications, apis, revocations, artifacts, provider, keyRing, clock }: TokenInspectorDeps) {
  /**
   * A token is only as alive as the client it was issued to and the API it is for: deleting or
   * deactivating either ends its tokens (DESIGN.md §5), though a JWT cannot be recalled. Both
   * lookups are cached (no query on the hot path).
   */
  async function issuedPartiesExist(clientId: unknown, aud: unknown): Promise<boolean> {
    if (typeof clientId === 'string') {
      const client = await applications.findClient(clientId);
      if (!client?.isActive) return false;
    }
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    for (const audience of audiences) {
      if (typeof audience !== 'string' || !(await apis.resolve(audience))) return false;
    }
    return true;
  }

  // The verifier follows the key ring: rebuilt (once) whenever the published keys change.
  let verifierFor: KeyRing | undefined;
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  // Tokens whose signature verified, by their exact text. An API introspects the same token on
  // every call that carries it, and the signature check costs more than the rest of the request;
  // a string that verified once verifies again as long as its key is published (so the map is
  // per key ring). Time-dependent claims (exp, nbf) are checked again on every hit.
  let verified = new Map<string, JwtClaims>();
  const current = () => {
    const ring = keyRing();
    if (ring !== verifierFor || !jwks) {
      jwks = createLocalJWKSet({ keys: ring.publicJwks });
      verified = new Map();
      verifierFor = ring;
    }
    return jwks;
  };

  /** A JWT we signed and that has not expired, or null (bad signature, other issuer, expired…). */
  async function verifyJwt(value: string): Promise<JwtClaims | null> {
    const keys = current();
    const known = verified.get(value);
    if (known) {
      const now = clock.epoch();
      // jose's rules, as on the first check: expired at exp, not valid before nbf.
      if ((typeof known.exp === 'number' && known.exp <= now) || (typeof known.nbf === 'number' && known.nbf > now)) return null;
      return known;
    }
    try {
      const { payload } = await jwtVerify(value, keys, { issuer, typ: 'at+jwt', algorithms: ['ES256', 'RS256'], currentDate: clock.now() });
      if (verified.size >= VERIFIED_LIMIT) verified.clear();
      verified.set(value, payload);
      return payload as JwtClaims;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }

  /** Opaque tokens: one lookup finds which model holds the value, then oidc-provider loads it (cached). */
  async function findOpaque(value: string, hint: string | undefined): Promise<OpaqueToken | undefined> {
    // Our tokens never hold control characters; PostgreSQL would refuse a NUL in the lookup.
    if (hasControlCharacters(value)) return undefined;
    const model = (await artifacts.locate(value, hint === 'refresh_token' ? REFRESH_FIRST : ACCESS_FIRST)) as OpaqueModel | null;
    return model ? findOpaqueToken(provider(), model, value) : undefined;
  }

  /** Grant-bound opaque tokens are only as alive as their grant (as oidc-provider checks). */
  async function grantIsAlive(token: OpaqueToken): Promise<boolean> {
    if (!token.grantId) return true;
    const grant = await findGrant(provider(), token.grantId);
    return !!grant && !grant.isExpired && grant.clientId === token.clientId && grant.accountId === token.accountId;
  }

  return {
    /**
     * RFC 7662 §2.2 response for `value`, as `caller` may see it. Unknown, expired and revoked tokens
     * are `{ active: false }`, and so are tokens the policy does not show `caller` (RFC 7662 §4,
     * introspection-policy.ts): a caller cannot tell a foreign token from an unknown one.
     */
    async introspect(value: string, hint: string | undefined, caller: PolicyCaller): Promise<IntrospectionResponse> {
      const shown = (found: InspectedToken) => {
        const parties = partiesOf(found);
        return !!parties && mayIntrospect(caller, parties);
      };
      if (looksLikeJwt(value)) {
        const payload = await verifyJwt(value);
        if (!payload || typeof payload.jti !== 'string' || revocations.isRevoked(payload.jti)) return INACTIVE;
        if (!shown({ kind: 'jwt', payload })) return INACTIVE;
        if (!(await issuedPartiesExist(payload.client_id, payload.aud))) return INACTIVE;
        const { iss, sub, aud, exp, iat, nbf, jti, client_id, scope, ...extra } = payload;
        return { ...extra, active: true, iss, sub, aud, exp, iat, nbf, jti, client_id, scope, token_type: 'Bearer' };
      }
      const token = await findOpaque(value, hint);
      if (!token?.isValid || !shown({ kind: 'opaque', token })) return INACTIVE;
      if (!(await grantIsAlive(token))) return INACTIVE;
      if (!(await issuedPartiesExist(token.clientId, token.aud))) return INACTIVE;
      return {
        ...token.extra,
        active: true,
        iss: issuer,
        sub: token.accountId ?? (token.kind === 'ClientCredentials' ? token.clientId : undefined),
        aud: token.aud,
        exp: token.exp,
        iat: token.iat,
        client_id: token.clientId,
        scope: token.scope || undefined,
        sid: token.sid,
        token_type: token.kind === 'RefreshToken' ? undefined : (token.tokenType ?? 'Bearer'),
      };
    },

    /** Finds a live token for revocation; null when it is not ours, expired or malformed. */
    async inspect(value: string, hint: string | undefined): Promise<InspectedToken | null> {
      if (looksLikeJwt(value)) {
        const payload = await verifyJwt(value);
        return payload ? { kind: 'jwt', payload } : null;
      }
      const token = await findOpaque(value, hint);
      return token ? { kind: 'opaque', token } : null;
    },

    /** RFC 7009 §2.1: makes the token unusable. JWTs go on the denylist until they expire. */
    async revoke(found: InspectedToken): Promise<void> {
      if (found.kind === 'jwt') {
        const { jti, exp, client_id } = found.payload;
        if (typeof jti !== 'string' || typeof exp !== 'number') return;
        await revocations.revoke({ jti, exp, clientId: client_id ?? null });
        return;
      }
      const { token } = found;
      await token.destroy();
      // A refresh or grant-bound access token takes its whole grant with it, as in oidc-provider.
      if (token.grantId && (token.kind === 'RefreshToken' || token.kind === 'AccessToken')) {
        await artifacts.revokeByGrantId(token.grantId);
      }
    },

    partiesOf,
  };
}

export type TokenInspector = ReturnType<typeof createTokenInspector>;
