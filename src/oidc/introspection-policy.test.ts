import { describe, expect, it } from 'vitest';
import { audiencesOf, mayIntrospect, mayRevoke, type PolicyCaller, type TokenKind, type TokenParties } from './introspection-policy.ts';

const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const STOCK = 'https://stock.example.test';

const caller = (clientId: string, apis: Array<[string, boolean]> = []): PolicyCaller => ({
  clientId,
  apis: apis.map(([identifier, introspect]) => ({ identifier, introspect })),
});
const access = (clientId: string | undefined, audiences: string[]): TokenParties => ({ kind: 'access_token', clientId, audiences });

/** The resource server of ORDERS: may introspect for it, and is also granted BILLING without the right. */
const ordersApi = caller('orders-api', [
  [ORDERS, true],
  [BILLING, false],
]);
const plain = caller('reporter', [[ORDERS, false]]);

describe('mayIntrospect (RFC 7662 §4)', () => {
  it('lets a client introspect its own tokens, whatever their audience and its rights [access, refresh]', () => {
    expect(mayIntrospect(caller('reporter'), access('reporter', [ORDERS]))).toBe(true);
    expect(mayIntrospect(caller('reporter'), access('reporter', []))).toBe(true);
    expect(mayIntrospect(caller('reporter'), { kind: 'refresh_token', clientId: 'reporter', audiences: [] })).toBe(true);
  });

  it("lets a client with the introspect right for an API introspect another client's token for that API", () => {
    expect(mayIntrospect(ordersApi, access('reporter', [ORDERS]))).toBe(true);
  });

  it('refuses a client whose right is for another API, or who is granted the API without the right', () => {
    expect(mayIntrospect(ordersApi, access('reporter', [STOCK]))).toBe(false);
    expect(mayIntrospect(ordersApi, access('reporter', [BILLING]))).toBe(false);
    expect(mayIntrospect(plain, access('someone-else', [ORDERS]))).toBe(false);
    expect(mayIntrospect(caller('stranger'), access('reporter', [ORDERS]))).toBe(false);
  });

  it('accepts a token with several audiences when the right covers one of them, and refuses it when it covers none', () => {
    expect(mayIntrospect(ordersApi, access('reporter', [STOCK, ORDERS]))).toBe(true);
    expect(mayIntrospect(ordersApi, access('reporter', [STOCK, BILLING]))).toBe(false);
  });

  it('shows an access token without an audience to its own client only, whatever rights others hold', () => {
    expect(mayIntrospect(ordersApi, access('reporter', []))).toBe(false);
    expect(mayIntrospect(ordersApi, access(undefined, []))).toBe(false);
  });

  it('never shows a refresh token to a resource server, even one with the right for its audience', () => {
    expect(mayIntrospect(ordersApi, { kind: 'refresh_token', clientId: 'reporter', audiences: [ORDERS] })).toBe(false);
  });

  it('shows an API token (no audience) to any client holding an introspect right for some API, and to no other', () => {
    const apiToken: TokenParties = { kind: 'api_token', audiences: [] };
    expect(mayIntrospect(ordersApi, apiToken)).toBe(true);
    expect(mayIntrospect(plain, apiToken)).toBe(false);
    expect(mayIntrospect(caller('stranger'), apiToken)).toBe(false);
  });

  it('does not take a missing client for a match [no client_id on either side]', () => {
    expect(mayIntrospect({ clientId: undefined as unknown as string, apis: [] }, access(undefined, [ORDERS]))).toBe(false);
  });

  it('refuses kinds it does not know, even to the client named in them', () => {
    for (const kind of ['id_token', 'AccessToken', '', 'authorization_code']) {
      expect(
        mayIntrospect(caller('reporter', [[ORDERS, true]]), { kind: kind as TokenKind, clientId: 'reporter', audiences: [ORDERS] }),
      ).toBe(false);
    }
  });
});

describe('mayRevoke (RFC 7009 §2.1)', () => {
  it('lets only the client a token was issued to revoke it', () => {
    expect(mayRevoke(caller('reporter'), access('reporter', [ORDERS]))).toBe(true);
    expect(mayRevoke(caller('reporter'), { kind: 'refresh_token', clientId: 'reporter', audiences: [] })).toBe(true);
    // the introspect right is no right to revoke
    expect(mayRevoke(ordersApi, access('reporter', [ORDERS]))).toBe(false);
    expect(mayRevoke(caller('stranger'), access('reporter', [ORDERS]))).toBe(false);
    expect(mayRevoke(ordersApi, { kind: 'api_token', audiences: [] })).toBe(false);
  });

  it('refuses kinds it does not know', () => {
    expect(mayRevoke(caller('reporter'), { kind: 'id_token' as TokenKind, clientId: 'reporter', audiences: [] })).toBe(false);
  });
});

describe('audiencesOf', () => {
  it('reads aud as a string or an array of strings, and anything else as none', () => {
    expect(audiencesOf(ORDERS)).toEqual([ORDERS]);
    expect(audiencesOf([ORDERS, 7, BILLING])).toEqual([ORDERS, BILLING]);
    expect(audiencesOf(undefined)).toEqual([]);
    expect(audiencesOf({ aud: ORDERS })).toEqual([]);
  });
});
