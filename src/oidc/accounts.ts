import type { Account, AccountClaims, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { AccessService } from '../domain/access/access.service.ts';
import type { UserService } from '../domain/users/user.service.ts';

/**
 * People as oidc-provider sees them: accounts (`findAccount`), the claims each scope releases
 * (`claims`), and what Gatehouse adds to their access tokens (`extraTokenClaims`).
 * https://github.com/panva/node-oidc-provider/tree/main/docs#findaccount
 * https://github.com/panva/node-oidc-provider/tree/main/docs#claims
 * https://github.com/panva/node-oidc-provider/tree/main/docs#extratokenclaims
 */

/**
 * The claims each OIDC scope releases (OpenID Connect Core 1.0 §5.4), limited to what a Gatehouse
 * user has: a username and an email address. `email_verified` is false: Gatehouse does not verify
 * addresses, and a relying party must not take an unverified one for proof of ownership.
 */
export const OIDC_CLAIMS: NonNullable<Configuration['claims']> = {
  openid: ['sub'],
  profile: ['preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
};

/**
 * The claim that names, in every access token issued to a person, the grant it was issued under:
 * JWT access tokens are not stored, and revoking their grant (refresh-token reuse, a revoked refresh
 * token, logout) must still end them (grant-revocation.ts, token-kinds/jwt-access-token.ts). A
 * private claim (RFC 9068 §2.2.3 allows them); a grant id opens nothing by itself.
 */
export const GRANT_ID_CLAIM = 'grant_id';

export interface AccountDeps {
  access: Pick<AccessService, 'effectivePermissions' | 'permissionsForApi' | 'isSignInCurrent'>;
  users: Pick<UserService, 'findById'>;
}

/**
 * `findAccount`: an active user by id, or undefined. Undefined for a deactivated user ends what
 * their sign-in made: their browser session no longer counts as signed in (provider.ts asks for a
 * login again), and their refresh tokens and userinfo calls are refused (oidc-provider checks the
 * account on each). Undefined too for what was made before the user was last deactivated (the
 * token's `iat`, or without a token the browser session's login time): activating them again does
 * not bring those back. The lookup is the access service's cached record: no query per token.
 */
export function createFindAccount({ access, users }: AccountDeps) {
  return async function findAccount(ctx: KoaContextWithOIDC, sub: string, token?: { iat?: number }): Promise<Account | undefined> {
    // oidc-provider passes the code or token it is honouring; without one, the account comes from the session.
    const session = ctx.oidc?.session;
    const madeAt = token ? token.iat : session?.accountId === sub ? session.loginTs : undefined;
    if (!(await access.isSignInCurrent(sub, madeAt))) return undefined;
    return {
      accountId: sub,
      async claims(): Promise<AccountClaims> {
        const user = await users.findById(sub);
        if (!user) return { sub };
        return {
          sub,
          preferred_username: user.username,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
          ...(user.email ? { email: user.email, email_verified: false } : {}),
        };
      },
    };
  };
}

/**
 * `extraTokenClaims`: a person's access token carries their global `roles` and, for an API, the
 * `permissions` (codenames) they hold there, computed when the token is issued (the access
 * service's cached answer), plus the grant it belongs to. Client credentials tokens get nothing
 * here: an application's own rights are not a person's.
 */
export function createExtraTokenClaims({ access }: Pick<AccountDeps, 'access'>) {
  return async function extraTokenClaims(
    _ctx: KoaContextWithOIDC,
    token: {
      kind: string;
      accountId?: string | undefined;
      grantId?: string | undefined;
      resourceServer?: { audience?: string } | undefined;
    },
  ): Promise<Record<string, unknown> | undefined> {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const audience = token.resourceServer?.audience;
    const [effective, permissions] = await Promise.all([
      access.effectivePermissions(token.accountId),
      audience ? access.permissionsForApi(token.accountId, audience) : Promise.resolve(undefined),
    ]);
    return {
      roles: effective?.roles ?? [],
      ...(permissions ? { permissions } : {}),
      ...(token.grantId ? { [GRANT_ID_CLAIM]: token.grantId } : {}),
    };
  };
}
