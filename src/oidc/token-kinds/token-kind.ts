import type { TokenParties } from '../introspection-policy.ts';

/**
 * One kind of token Gatehouse introspects (RFC 7662) and revokes (RFC 7009): a JWT access token
 * (jwt-access-token.ts), an opaque token held by oidc-provider (opaque-token.ts), and later an API
 * token. The inspector (token-inspector.ts) asks each kind in turn whether it recognises a value,
 * and leaves everything about that token to the first that does; who may see or revoke it is the
 * introspection policy's (introspection-policy.ts), decided on the parties the kind reports.
 *
 * Every negative answer is the same `{ active: false }` (or revocation's empty 200): a kind never
 * throws for a token it does not know, cannot read or finds dead.
 */
export interface TokenKind<Found = unknown> {
  /** for logs and tests */
  readonly name: string;
  /** Whether `value` is of this kind, from the value (and the hint) alone: no lookup. */
  recognises(value: string, hint: string | undefined): boolean;
  /** The token `value` names, or null (not one of ours, malformed, bad signature, expired…). */
  find(value: string, hint: string | undefined): Promise<Found | null>;
  /** The facts the policy decides on, or null for a token the policy knows nothing about. */
  partiesOf(found: Found): TokenParties | null;
  /** Whether the token is still active by what `find` already knows (a denylist, its state): no lookup. */
  isActive(found: Found): boolean;
  /**
   * The RFC 7662 §2.2 answer for an active token the caller may see, or null when a further check
   * (its grant, the client and APIs it was issued for still existing) finds it dead.
   */
  introspection(found: Found): Promise<ActiveIntrospection | null>;
  /** RFC 7009 §2.1: makes the token unusable. */
  revoke(found: Found): Promise<void>;
}

export type ActiveIntrospection = { active: true } & Record<string, unknown>;

/** A token found by one of the kinds: what the inspector hands back to its caller. */
export interface InspectedToken {
  readonly kind: TokenKind;
  readonly token: unknown;
}
