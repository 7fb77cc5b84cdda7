import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Executor, Storage } from '../../db/storage.ts';
import { assertThat } from '../../lib/assert-that.ts';
import type { Clock } from '../../lib/clock.ts';
import { decrypt, encrypt } from '../../lib/secrets.ts';
import type { SigningAlg } from '../api-resources/api-resource.schema.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { signingKeyError } from './signing-key.errors.ts';
import { type KeyRevocation, type KeyRing, type KeyState, SIGNING_ALGS, type SigningKeyInfo } from './signing-key.schema.ts';
import type { SigningKeyStore, StoredKey } from './signing-key.store.ts';

/** Margin added to the longest token lifetime before a rotated-out key leaves the JWKS (clock skew). */
const RETIRE_MARGIN_SECONDS = 300;

export interface SigningKeyServiceDeps {
  storage: Storage;
  store: SigningKeyStore;
  audit: AuditService;
  clock: Clock;
  encryptionKey: Buffer;
  /** the longest lifetime of any token signed with these keys, in seconds */
  longestTokenLifetime: () => Promise<number>;
  /** how long a rotated-in key is published before it signs (KEY_ACTIVATION_DELAY_SECONDS) */
  activationDelaySeconds: number;
}

async function generate(alg: SigningAlg) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' } as JWK,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } as JWK,
  };
}

/**
 * A key's state at `now`, from its dates: it signs from `signsFrom` (or creation) until a rotation's
 * `rotatedAt`, and stays published until `retireAfter`.
 */
export function keyStateAt(key: StoredKey, now: Date): KeyState {
  if (key.revokedAt) return 'revoked';
  if (key.state === 'retired' || (key.retireAfter && key.retireAfter <= now)) return 'retired';
  const start = key.signsFrom ?? key.createdAt;
  const end = key.state === 'active' ? null : key.rotatedAt;
  if (end && end <= start) return 'retiring'; // rotated out before it ever signed
  if (start > now) return 'pending';
  return end === null || end > now ? 'active' : 'retiring';
}

function toInfo(key: StoredKey, now: Date): SigningKeyInfo {
  return {
    kid: key.kid,
    alg: key.alg as SigningAlg,
    state: keyStateAt(key, now),
    createdAt: key.createdAt,
    signsFrom: key.signsFrom,
    rotatedAt: key.rotatedAt,
    retireAfter: key.retireAfter,
    revokedAt: key.revokedAt,
  };
}

/**
 * Signing keys: generated on first start, rotated on demand. Private keys are stored encrypted
 * (AES-256-GCM, the kid as associated data) and decrypted only into memory.
 */
export function createSigningKeyService(deps: SigningKeyServiceDeps) {
  const { storage, store, audit, clock, encryptionKey, longestTokenLifetime, activationDelaySeconds } = deps;
  async function insertNew(tx: Executor, alg: SigningAlg, signsFrom: Date | null): Promise<string> {
    const key = await generate(alg);
    await store.insert(tx, {
      kid: key.kid,
      alg,
      publicJwk: key.publicJwk,
      signsFrom,
      privateJwkEncrypted: encrypt(encryptionKey, JSON.stringify(key.privateJwk), key.kid),
    });
    return key.kid;
  }

  /**
   * Inside a locked transaction: a new key for each of `algs`, signing from `signsFrom` (null: at
   * once); every other key of those algorithms that signs, or would after the switch (active and
   * pending keys, keys a previous rotation has yet to stop), stops then and retires later.
   */
  async function rotateIn(
    tx: Executor,
    algs: readonly SigningAlg[],
    { now, signsFrom, lifetime, except }: { now: Date; signsFrom: Date | null; lifetime: number; except?: string },
  ) {
    const switchAt = signsFrom ?? now;
    const previous = (await store.findMany(tx))
      .filter((k) => k.kid !== except && algs.includes(k.alg as SigningAlg))
      .filter((k) => k.state === 'active' || (k.state === 'retiring' && k.rotatedAt && k.rotatedAt > switchAt))
      .map((k) => k.kid);
    const created: string[] = [];
    for (const alg of algs) created.push(await insertNew(tx, alg, signsFrom));
    const retireAfter = new Date(switchAt.getTime() + (lifetime + RETIRE_MARGIN_SECONDS) * 1000);
    await store.markRetiring(tx, previous, switchAt, retireAfter);
    await store.markRetired(tx, now);
    return { created, previous, switchAt, retireAfter };
  }

  return {
    /** Creates a key for every algorithm that has no active one. Safe when instances start together. */
    async ensureKeys(actor = 'system'): Promise<string[]> {
      // Key generation happens before the lock, so the lock is held only for a quick check and insert.
      const existing = await store.findMany(storage.db);
      const missing = SIGNING_ALGS.filter((alg) => !existing.some((k) => k.alg === alg && k.state === 'active'));
      if (missing.length === 0) return [];
      return storage.transaction(
        async (tx) => {
          await store.lock(tx);
          const current = await store.findMany(tx);
          const created: string[] = [];
          for (const alg of SIGNING_ALGS) {
            if (current.some((k) => k.alg === alg && k.state === 'active')) continue;
            created.push(await insertNew(tx, alg, null));
          }
          if (created.length) {
            await audit.record(tx, { actor, action: 'signing_key.created', targetType: 'signing_key', details: { kids: created } });
            await store.announce(tx);
          }
          return created;
        },
        { timeoutMs: 30_000 },
      );
    },

    /**
     * Adds a new key per algorithm. It is published at once and signs from `activationDelaySeconds`
     * later, when the keys signing now stop (`immediately`: at once, at the price of APIs that
     * cached the JWKS refetching it). Keys that stop signing stay in the JWKS until every token they
     * signed has expired (longest token lifetime plus a margin): the gentle path. A key that must
     * stop verifying at once is `revoke`d.
     */
    async rotate(actor: string, { immediately = false }: { immediately?: boolean } = {}): Promise<SigningKeyInfo[]> {
      const lifetime = await longestTokenLifetime();
      await storage.transaction(
        async (tx) => {
          await store.lock(tx);
          const now = clock.now();
          const signsFrom = immediately || activationDelaySeconds === 0 ? null : new Date(now.getTime() + activationDelaySeconds * 1000);
          const { created, previous, switchAt, retireAfter } = await rotateIn(tx, SIGNING_ALGS, { now, signsFrom, lifetime });
          await audit.record(tx, {
            actor,
            action: 'signing_key.rotated',
            targetType: 'signing_key',
            details: { created, signsFrom: switchAt, retiring: previous, retireAfter },
          });
          await store.announce(tx);
        },
        { timeoutMs: 30_000 },
      );
      return this.list();
    },

    /**
     * Pulls a key (compromised, or suspected to be): it leaves the JWKS on every instance at once
     * (the 'keys' change makes each reload its key ring), so every token it signed stops verifying
     * and introspects inactive. If it signs, or was about to, a new key of its algorithm signs in
     * its place at once: an algorithm is never left without a signing key.
     *
     * @remarks Revoking a revoked key changes nothing (`changed: false`), so a runbook may repeat it.
     * APIs that verify JWTs themselves keep accepting the key until they refetch the JWKS.
     */
    async revoke(kid: string, actor: string): Promise<KeyRevocation> {
      const lifetime = await longestTokenLifetime();
      const { changed, created } = await storage.transaction(
        async (tx) => {
          await store.lock(tx);
          const key = await store.findByKid(tx, kid);
          assertThat(key, () => signingKeyError('not_found', { kid }));
          if (key.revokedAt) return { changed: false, created: [] };
          const now = clock.now();
          const state = keyStateAt(key, now);
          const alg = key.alg as SigningAlg;
          const replaced =
            state === 'active' || state === 'pending'
              ? await rotateIn(tx, [alg], { now, signsFrom: null, lifetime, except: kid })
              : { created: [], previous: [] };
          await store.markRevoked(tx, kid, now);
          await audit.record(tx, {
            actor,
            action: 'signing_key.revoked',
            targetType: 'signing_key',
            targetId: kid,
            details: { alg, state, replacements: replaced.created, retiring: replaced.previous },
          });
          await store.announce(tx);
          return { changed: true, created: replaced.created };
        },
        { timeoutMs: 30_000 },
      );
      const keys = await this.list();
      const info = (k: string) => keys.find((key) => key.kid === k) as SigningKeyInfo;
      return { key: info(kid), changed, replacements: created.map(info) };
    },

    async list(): Promise<SigningKeyInfo[]> {
      const now = clock.now();
      return (await store.findMany(storage.db)).map((k) => toInfo(k, now));
    },

    /** Decrypts the published keys into memory. */
    async loadKeyRing(): Promise<KeyRing> {
      const now = clock.now();
      const keys = await store.findPublished(storage.db, now);
      const signing = keys.filter((k) => keyStateAt(k, now) === 'active');
      const ordered = [...signing, ...keys.filter((k) => !signing.includes(k))];
      const privateJwks = ordered.map((k) => {
        try {
          return JSON.parse(decrypt(encryptionKey, k.privateJwkEncrypted, k.kid)) as JWK;
        } catch (cause) {
          const err = signingKeyError('undecryptable', { kid: k.kid });
          (err as { cause?: unknown }).cause = cause;
          throw err;
        }
      });
      const activeKid: KeyRing['activeKid'] = {};
      for (const k of signing) activeKid[k.alg as SigningAlg] ??= k.kid;
      const changes = keys
        .flatMap((k) => [k.signsFrom, k.state === 'retiring' ? k.rotatedAt : null, k.retireAfter])
        .filter((d): d is Date => d !== null && d > now);
      return {
        privateJwks,
        publicJwks: ordered.map((k) => k.publicJwk as JWK),
        activeKid,
        nextChangeAt: changes.length ? new Date(Math.min(...changes.map((d) => d.getTime()))) : null,
      };
    },
  };
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>;
