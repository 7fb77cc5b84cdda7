import type { JWK } from 'jose';
import type { SigningAlg } from '../api-resources/api-resource.schema.ts';

/** Algorithms Gatehouse keeps a key for. ES256 signs access tokens by default; RS256 is what every JOSE library accepts (and RFC 9068 §4 asks resource servers to support). */
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];

/**
 * pending: published, signs from `signsFrom`; active: signs; retiring: no longer signs, published
 * until `retireAfter`; retired: neither; revoked: pulled by an operator (`keys revoke`), neither
 * signs nor is published, whatever its dates said. Derived from the stored dates and the clock, so
 * every instance agrees without anyone writing the change down.
 */
export type KeyState = 'pending' | 'active' | 'retiring' | 'retired' | 'revoked';

/** A signing key as operators see it: never the private part. */
export interface SigningKeyInfo {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  createdAt: Date;
  signsFrom: Date | null;
  rotatedAt: Date | null;
  retireAfter: Date | null;
  revokedAt: Date | null;
}

/** What `revoke` did. */
export interface KeyRevocation {
  key: SigningKeyInfo;
  /** false when the key was already revoked: nothing changed */
  changed: boolean;
  /** keys created to sign in its place, at once (it was signing, or about to) */
  replacements: SigningKeyInfo[];
}

/** Keys in use right now: what signs (active) and what is published (pending + active + retiring). */
export interface KeyRing {
  /** private JWKs, active keys first: oidc-provider signs with the first key of an algorithm */
  privateJwks: JWK[];
  /** public JWKs for the JWKS document */
  publicJwks: JWK[];
  /** kid of the active key per algorithm */
  activeKid: Partial<Record<SigningAlg, string>>;
  /** when the ring next changes (a key starts or stops signing, or leaves the JWKS): reload then */
  nextChangeAt: Date | null;
}
