import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { PrismaClient, Tx } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import { decrypt, encrypt } from '../../lib/secrets.ts';
import type { SigningAlg } from '../api-resources/api-resource.schema.ts';
import type { AuditStore } from '../audit/audit.store.ts';
import { signingKeyError } from './signing-key.errors.ts';
import { type KeyRing, SIGNING_ALGS, type SigningKeyInfo } from './signing-key.schema.ts';
import type { SigningKeyStore, StoredKey } from './signing-key.store.ts';

/** Margin added to the longest token lifetime before a rotated-out key leaves the JWKS (clock skew). */
const RETIRE_MARGIN_SECONDS = 300;

export interface SigningKeyServiceDeps {
  prisma: PrismaClient;
  store: SigningKeyStore;
  audit: AuditStore;
  clock: Clock;
  encryptionKey: Buffer;
  /** the longest lifetime of any token signed with these keys, in seconds */
  longestTokenLifetime: () => Promise<number>;
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

function toInfo(key: StoredKey, now: Date): SigningKeyInfo {
  // A retiring key past its date is retired whether or not a rotation has written that down yet.
  const state = key.state === 'retiring' && key.retireAfter && key.retireAfter <= now ? 'retired' : key.state;
  return {
    kid: key.kid,
    alg: key.alg as SigningAlg,
    state,
    createdAt: key.createdAt,
    rotatedAt: key.rotatedAt,
    retireAfter: key.retireAfter,
  };
}

/**
 * Signing keys: generated on first start, rotated on demand. Private keys are stored encrypted
 * (AES-256-GCM, the kid as associated data) and decrypted only into memory.
 */
export function createSigningKeyService({ prisma, store, audit, clock, encryptionKey, longestTokenLifetime }: SigningKeyServiceDeps) {
  async function insertNew(tx: Tx, alg: SigningAlg): Promise<string> {
    const key = await generate(alg);
    await store.insert(tx, {
      kid: key.kid,
      alg,
      publicJwk: key.publicJwk,
      privateJwkEncrypted: encrypt(encryptionKey, JSON.stringify(key.privateJwk), key.kid),
    });
    return key.kid;
  }

  return {
    /** Creates a key for every algorithm that has no active one. Safe when instances start together. */
    async ensureKeys(actor = 'system'): Promise<string[]> {
      // Key generation happens before the lock, so the lock is held only for a quick check and insert.
      const existing = await store.findMany();
      const missing = SIGNING_ALGS.filter((alg) => !existing.some((k) => k.alg === alg && k.state === 'active'));
      if (missing.length === 0) return [];
      return prisma.$transaction(
        async (tx) => {
          await store.lock(tx);
          const current = await store.findMany(tx);
          const created: string[] = [];
          for (const alg of SIGNING_ALGS) {
            if (current.some((k) => k.alg === alg && k.state === 'active')) continue;
            created.push(await insertNew(tx, alg));
          }
          if (created.length) {
            await audit.insert(tx, { actor, action: 'signing_key.created', targetType: 'signing_key', details: { kids: created } });
            await store.publishChange(tx);
          }
          return created;
        },
        { timeout: 30_000 },
      );
    },

    /**
     * Adds a new active key per algorithm. The previous keys stop signing at once but stay in the
     * JWKS until every token they signed has expired (longest token lifetime plus a margin).
     */
    async rotate(actor: string): Promise<SigningKeyInfo[]> {
      const lifetime = await longestTokenLifetime();
      await prisma.$transaction(
        async (tx) => {
          await store.lock(tx);
          const now = clock.now();
          const previous = (await store.findMany(tx)).filter((k) => k.state === 'active').map((k) => k.kid);
          const created: string[] = [];
          for (const alg of SIGNING_ALGS) created.push(await insertNew(tx, alg));
          const retireAfter = new Date(now.getTime() + (lifetime + RETIRE_MARGIN_SECONDS) * 1000);
          await store.markRetiring(tx, previous, now, retireAfter);
          await store.markRetired(tx, now);
          await audit.insert(tx, {
            actor,
            action: 'signing_key.rotated',
            targetType: 'signing_key',
            details: { created, retiring: previous, retireAfter },
          });
          await store.publishChange(tx);
        },
        { timeout: 30_000 },
      );
      return this.list();
    },

    async list(): Promise<SigningKeyInfo[]> {
      const now = clock.now();
      return (await store.findMany()).map((k) => toInfo(k, now));
    },

    /** Decrypts the published keys into memory. */
    async loadKeyRing(): Promise<KeyRing> {
      const now = clock.now();
      const keys = await store.findPublished(now);
      const ordered = [...keys.filter((k) => k.state === 'active'), ...keys.filter((k) => k.state !== 'active')];
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
      for (const k of ordered) if (k.state === 'active' && !activeKid[k.alg as SigningAlg]) activeKid[k.alg as SigningAlg] = k.kid;
      const retireDates = keys.map((k) => k.retireAfter).filter((d): d is Date => d !== null && d > now);
      return {
        privateJwks,
        publicJwks: ordered.map((k) => k.publicJwk as JWK),
        activeKid,
        nextChangeAt: retireDates.length ? new Date(Math.min(...retireDates.map((d) => d.getTime()))) : null,
      };
    },
  };
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>;
