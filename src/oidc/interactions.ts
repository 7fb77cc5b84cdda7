import type { Context } from 'koa';
import { errors, interactionPolicy, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { OidcArtifactService } from '../domain/oidc-artifacts/oidc-artifact.service.ts';
import { grantLookup } from './adapter.ts';
import { loadGrant } from './internals.ts';

/**
 * The sign-in interactions (https://github.com/panva/node-oidc-provider/tree/main/docs#interactions):
 * what the pages (http/routes/interaction.tsx) may ask of oidc-provider about an interaction in
 * progress and how they finish one, in Gatehouse's words; and the policy deciding when one is
 * needed (`interactionPolicy`, `loadExistingGrant`). Nothing here renders or reads a form.
 */

/** Where oidc-provider sends the browser for an interaction (`interactions.url`), and where its pages post. */
export const INTERACTION_PATH = '/interaction';
export const interactionUrl = (uid: string) => `${INTERACTION_PATH}/${encodeURIComponent(uid)}`;
/**
 * The page oidc-provider sends the browser to for an interaction. It names the client as well: when
 * the interaction is gone (expired, or finished) and the browser asks for the page again by its
 * address alone (Back, a reload), the "start again" page still knows which application to send the
 * person back to. client_id is no secret (the authorization URL carried it); the `_interaction`
 * cookie is scoped to the path alone.
 */
export const interactionPageUrl = (uid: string, clientId: string) => `${interactionUrl(uid)}?client_id=${encodeURIComponent(clientId)}`;

/** What a client asks for that the person has not granted yet (the consent prompt's details). */
export interface MissingGrant {
  /** OIDC scopes (`openid`, `profile`, `email`, `offline_access`…) */
  oidcScopes: string[];
  /** claims asked for one by one (the `claims` parameter) */
  claims: string[];
  /** each API (resource indicator) with the scopes asked for there */
  apis: Array<{ identifier: string; scopes: string[] }>;
}

export interface InteractionView {
  uid: string;
  /** `login` or `consent` (the first of oidc-provider's prompts that is not satisfied) */
  prompt: string;
  clientId: string;
  /** the signed-in person, at the consent prompt */
  accountId: string | null;
  /** the `login_hint` the client sent, to fill in the username */
  loginHint: string | null;
  /** at the consent prompt: what is to be granted */
  missing: MissingGrant;
  /**
   * a device flow's sign-in (RFC 8628): the person already approved the request on the device
   * confirm page, and the pages send a refusal straight back to the device verification step
   */
  deviceFlow: boolean;
}

/** The error interactionDetails throws when the interaction (its cookie or its stored record) is gone. */
export function isInteractionGone(err: unknown): boolean {
  return err instanceof errors.SessionNotFound;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

export interface Interactions {
  /**
   * The interaction the browser's `_interaction` cookie names, which must be `uid` (the URL's):
   * throws SessionNotFound (isInteractionGone) when it is not, or is gone or expired.
   */
  details(ctx: Context, uid: string): Promise<InteractionView>;
  /** Ends the login prompt for `accountId`; returns where to send the browser (303). */
  finishLogin(ctx: Context, uid: string, accountId: string): Promise<string>;
  /** Grants what the consent prompt asked for and ends it; returns where to send the browser. */
  finishConsent(ctx: Context, uid: string): Promise<string>;
  /** The person refused (Cancel, Deny): the client gets `access_denied` (RFC 6749 §4.1.2.1). */
  deny(ctx: Context, uid: string): Promise<string>;
}

export function createInteractions(provider: () => Provider): Interactions {
  async function load(ctx: Context, uid: string) {
    const interaction = await provider().interactionDetails(ctx.req, ctx.res);
    // The cookie names the browser's interaction; a form of another (an old tab) must not finish it.
    if (interaction.uid !== uid) throw new errors.SessionNotFound('interaction session and URL do not match');
    return interaction;
  }

  const finish = async (ctx: Context, uid: string, result: Parameters<Provider['interactionResult']>[2]) => {
    await load(ctx, uid);
    return provider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  };

  return {
    async details(ctx, uid) {
      const interaction = await load(ctx, uid);
      const { prompt, params } = interaction;
      const details = prompt.details as {
        missingOIDCScope?: unknown;
        missingOIDCClaims?: unknown;
        missingResourceScopes?: Record<string, unknown>;
      };
      return {
        uid: interaction.uid,
        prompt: prompt.name,
        clientId: String(params.client_id),
        accountId: interaction.session?.accountId ?? null,
        loginHint: typeof params.login_hint === 'string' ? params.login_hint : null,
        deviceFlow: typeof interaction.deviceCode === 'string',
        missing: {
          oidcScopes: strings(details.missingOIDCScope),
          claims: strings(details.missingOIDCClaims),
          apis: Object.entries(details.missingResourceScopes ?? {}).map(([identifier, scopes]) => ({
            identifier,
            scopes: strings(scopes),
          })),
        },
      };
    },

    finishLogin: (ctx, uid, accountId) => finish(ctx, uid, { login: { accountId, amr: ['pwd'] } }),

    async finishConsent(ctx, uid) {
      const interaction = await load(ctx, uid);
      const { Grant } = provider();
      const accountId = interaction.session?.accountId;
      if (!accountId) throw new errors.SessionNotFound('no signed-in account for this consent');
      const existing = interaction.grantId ? await loadGrant(provider(), interaction.grantId) : undefined;
      const grant = existing ?? new Grant({ accountId, clientId: String(interaction.params.client_id) });
      const details = interaction.prompt.details as {
        missingOIDCScope?: unknown;
        missingOIDCClaims?: unknown;
        missingResourceScopes?: Record<string, unknown>;
      };
      const scopes = strings(details.missingOIDCScope);
      const claims = strings(details.missingOIDCClaims);
      if (scopes.length) grant.addOIDCScope(scopes.join(' '));
      if (claims.length) grant.addOIDCClaims(claims);
      for (const [identifier, granted] of Object.entries(details.missingResourceScopes ?? {})) {
        grant.addResourceScope(identifier, strings(granted).join(' '));
      }
      const grantId = await grant.save();
      return provider().interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    },

    deny: (ctx, uid) => finish(ctx, uid, { error: 'access_denied', error_description: 'End-User aborted interaction' }),
  };
}

/**
 * When an interaction is needed (`interactions.policy`): oidc-provider's login and consent prompts,
 * plus one check. A browser session whose account no longer exists or was deactivated
 * (`findAccount` answers nothing, accounts.ts) is not a sign-in: the login prompt shows again
 * instead of the library refusing the request.
 */
export function signInPolicy() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy
    .get('login')
    ?.checks.add(
      new Check('account_inactive', 'the signed-in account is no longer active', 'login_required', (ctx: KoaContextWithOIDC) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}

/**
 * `loadExistingGrant`: the grant a request may build on, so consent is asked once per person and
 * client, not once per browser session (oidc-provider's default looks in the session only):
 * the one this interaction just produced, else this session's, else the newest stored for the
 * account and client (the adapter files grants by that pair). A first-party application
 * (`skip_authorization`) is granted what it asks for without a consent page.
 * https://github.com/panva/node-oidc-provider/tree/main/docs#loadexistinggrant
 */
export function createLoadExistingGrant(deps: {
  artifacts: Pick<OidcArtifactService, 'findByLookup'>;
  isFirstParty: (clientId: string) => Promise<boolean>;
}) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC) {
    const { oidc } = ctx;
    const client = oidc.client;
    const accountId = oidc.session?.accountId;
    if (!client || !accountId) return undefined;
    const { Grant } = oidc.provider;
    const fromResult = (oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId;
    const known = fromResult ?? oidc.session?.grantIdFor(client.clientId);
    let grant = known ? await loadGrant(oidc.provider, known) : undefined;
    if (!grant) {
      const stored = await deps.artifacts.findByLookup('Grant', grantLookup(accountId, client.clientId));
      if (typeof stored?.jti === 'string') grant = await loadGrant(oidc.provider, stored.jti);
    }
    // A grant of another account or client never carries over (oidc-provider throws on one).
    if (grant && (grant.accountId !== accountId || grant.clientId !== client.clientId)) grant = undefined;
    if (!(await deps.isFirstParty(client.clientId))) return grant;

    // First party: what is asked for is granted, as a consent page would have.
    grant ??= new Grant({ accountId, clientId: client.clientId });
    const oidcScopes = [...oidc.requestParamOIDCScopes];
    if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
    const claims = [...oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    for (const [identifier, server] of Object.entries(oidc.resourceServers ?? {})) {
      const scopes = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s));
      if (scopes.length) grant.addResourceScope(identifier, scopes.join(' '));
    }
    await grant.save();
    return grant;
  };
}
