import { createLocalJWKSet, decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { KeyRing } from '../../domain/signing-keys/signing-key.schema.ts';
import type { TokenRevocationService } from '../../domain/token-revocations/token-revocation.service.ts';
import type { Clock } from '../../lib/clock.ts';
import { GRANT_ID_CLAIM } from '../accounts.ts';
import { audiencesOf } from '../introspection-policy.ts';
import type { IssuedPartiesCheck } from './issued-parties.ts';
import type { TokenKind } from './token-kind.ts';

/**
 * JWT access tokens (RFC 9068) Gatehouse signed, through oidc-provider or the token fast path.
 * oidc-provider's own introspection and revocation refuse them (it does not store them), so they
 * are verified against the key ring's published keys and checked against the `jti` denylist, which
 * revocation adds to until the token expires.
 */
export type JwtClaims = JWTPayload & { client_id?: string; scope?: string };

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

/** How many verified JWTs to remember (per key ring); the map is emptied when it is full. */
const VERIFIED_LIMIT = 10_000;

export interface JwtAccessTokenDeps {
  issuer: string;
  keyRing: () => KeyRing;
  revocations: Pick<TokenRevocationService, 'isRevoked' | 'isGrantRevoked' | 'revoke'>;
  clock: Clock;
  issuedPartiesExist: IssuedPartiesCheck;
}

export function createJwtAccessTokenKind({
  issuer,
  keyRing,
  revocations,
  clock,
  issuedPartiesExist,
}: JwtAccessTokenDeps): TokenKind<JwtClaims> {
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

  return {
    name: 'jwt_access_token',

    recognises: (value) => looksLikeJwt(value),

    /** A JWT we signed and that has not expired, or null (bad signature, other issuer, expired…). */
    async find(value) {
      const keys = current();
      const known = verified.get(value);
      if (known) {
        const now = clock.epoch();
        // jose's rules, as on the first check: expired at exp, not valid before nbf.
        if ((typeof known.exp === 'number' && known.exp <= now) || (typeof known.nbf === 'number' && known.nbf > now)) return null;
        return known;
      }
      try {
        const { payload } = await jwtVerify(value, keys, {
          issuer,
          typ: 'at+jwt',
          algorithms: ['ES256', 'RS256'],
          currentDate: clock.now(),
        });
        if (verified.size >= VERIFIED_LIMIT) verified.clear();
        verified.set(value, payload);
        return payload as JwtClaims;
      } catch (err) {
        if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
        throw err;
      }
    },

    partiesOf(payload) {
      const { client_id, aud } = payload;
      // Only access tokens are signed with typ at+jwt (find requires it).
      return { kind: 'access_token', clientId: typeof client_id === 'string' ? client_id : undefined, audiences: audiencesOf(aud) };
    },

    // Revoked one by one (its jti), or with the grant it was issued under (a person's tokens).
    isActive: (payload) => {
      if (typeof payload.jti !== 'string' || revocations.isRevoked(payload.jti)) return false;
      const grantId = payload[GRANT_ID_CLAIM];
      return !(typeof grantId === 'string' && revocations.isGrantRevoked(grantId));
    },

    async introspection(payload) {
      // A person's token names them in `sub`; a client-credentials token names its client there.
      const person = payload.sub !== payload.client_id ? payload.sub : undefined;
      if (!(await issuedPartiesExist(payload.client_id, payload.aud, person, payload.iat))) return null;
      const { iss, sub, aud, exp, iat, nbf, jti, client_id, scope, ...extra } = payload;
      return { ...extra, active: true, iss, sub, aud, exp, iat, nbf, jti, client_id, scope, token_type: 'Bearer' };
    },

    /** JWTs cannot be recalled: they go on the denylist until they expire. */
    async revoke(payload) {
      const { jti, exp, client_id } = payload;
      if (typeof jti !== 'string' || typeof exp !== 'number') return;
      await revocations.revoke({ jti, exp, clientId: client_id ?? null });
    },
  };
}
