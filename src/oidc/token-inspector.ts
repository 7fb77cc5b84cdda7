import { mayIntrospect, type PolicyCaller, type TokenParties } from './introspection-policy.ts';
import type { InspectedToken, TokenKind } from './token-kinds/token-kind.ts';

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) for every token Gatehouse issues, whatever its
 * kind. oidc-provider's own endpoints refuse JWT access tokens (it does not store them), so
 * Gatehouse answers both endpoints itself. Each kind of token is a module (token-kinds/): the
 * inspector asks them in order which one recognises a value and leaves the token to it; the
 * introspection policy (introspection-policy.ts) decides who may see or revoke it.
 *
 * Kinds are tried in order, and the first that recognises a value and finds it takes it: JWTs
 * first (their shape is enough), then API tokens (screened without a lookup), then the opaque kind,
 * which looks up anything.
 */

export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);
export type { InspectedToken, TokenKind };

const INACTIVE = { active: false } as const;

export function createTokenInspector({ kinds }: { kinds: readonly TokenKind[] }) {
  /** The live token `value` names, with the kind that found it; null when no kind knows it. */
  async function inspect(value: string, hint: string | undefined): Promise<InspectedToken | null> {
    // A kind that recognises a value but does not know it passes it on: an API token's screening
    // is no lookup, so it may look at any opaque value before oidc-provider's tokens are asked.
    for (const kind of kinds) {
      if (!kind.recognises(value, hint)) continue;
      const token = await kind.find(value, hint);
      if (token !== null) return { kind, token };
    }
    return null;
  }

  /** The facts of a found token the policy decides on. */
  const partiesOf = (found: InspectedToken): TokenParties | null => found.kind.partiesOf(found.token);

  return {
    /**
     * RFC 7662 §2.2 response for `value`, as `caller` may see it. Unknown, expired and revoked tokens
     * are `{ active: false }`, and so are tokens the policy does not show `caller` (RFC 7662 §4,
     * introspection-policy.ts): a caller cannot tell a foreign token from an unknown one. The
     * policy is applied before any further lookup the answer would need.
     */
    async introspect(value: string, hint: string | undefined, caller: PolicyCaller): Promise<IntrospectionResponse> {
      const found = await inspect(value, hint);
      if (!found?.kind.isActive(found.token)) return INACTIVE;
      const parties = partiesOf(found);
      if (!parties || !mayIntrospect(caller, parties)) return INACTIVE;
      return (await found.kind.introspection(found.token)) ?? INACTIVE;
    },

    /** Finds a token for revocation; null when it is not ours, expired or malformed. */
    inspect,

    /** RFC 7009 §2.1: makes the token unusable. */
    revoke: (found: InspectedToken): Promise<void> => found.kind.revoke(found.token),

    partiesOf,
  };
}

export type TokenInspector = ReturnType<typeof createTokenInspector>;
