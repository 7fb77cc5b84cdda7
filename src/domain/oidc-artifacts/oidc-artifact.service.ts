import type { KeyObject } from 'node:crypto';
import type { ChangeBus } from '../../db/change-bus.ts';
import { createBoundedCache } from '../../lib/bounded-cache.ts';
import type { Clock } from '../../lib/clock.ts';
import { decrypt, digestSecret, encrypt } from '../../lib/secrets.ts';
import { artifactChanged, artifactGrantRevoked } from './oidc-artifact.changes.ts';
import type { ArtifactPayload, LegacyArtifact, OidcArtifactStore, StoredArtifact } from './oidc-artifact.store.ts';

/** How many rows (and, apart, how many misses) to keep in memory. */
const CACHE_LIMIT = 10_000;
/** A cached row or miss is read again after this long even if no change was announced (a safety net). */
const CACHE_MAX_AGE_MS = 60_000;

/** A live row opened: its payload (with `consumed` when it was consumed) and what the cache needs. */
export interface ArtifactRow {
  model: string;
  /** the keyed digest of the model's id */
  digest: string;
  payload: ArtifactPayload;
  grantId: string | null;
  expiresAt: Date | null;
}

export interface OidcArtifactServiceDeps {
  store: OidcArtifactStore;
  bus: ChangeBus;
  clock: Clock;
  /** HMAC key for the stored ids and user codes (DerivedKeys.artifactIdKey) */
  idKey: KeyObject;
  /** AES-256-GCM key for the stored payloads (DerivedKeys.artifactPayloadKey) */
  payloadKey: KeyObject;
}

/**
 * oidc-provider's stored models (sessions, grants, codes, opaque tokens…).
 *
 * Nothing stored is a bearer value (DESIGN.md §5). A model's id is often one: an opaque access or
 * refresh token, a code, a session cookie, an interaction uid, a request_uri. The row is keyed by
 * HMAC-SHA-256 of the id under a key derived from the master key (as client secrets are), so a copy
 * of the database neither reveals nor verifies a token; ids are only ever looked up by exact
 * value, so the digest serves every lookup. The payload is sealed with AES-256-GCM, bound to its
 * row (model and digest as associated data): it holds the id again (`jti`) and, for some models,
 * other bearer values (an interaction's `deviceCode`, `parJti`, session `cookie` and `returnTo`, a
 * device code's `userCode`) that oidc-provider needs back, including from `findByUserCode`, where
 * the caller does not present the id. The device flow's user code is stored as a digest too.
 * Sealing the whole payload keeps that true whatever a later oidc-provider adds to it.
 *
 * Rows read by id are kept in memory, opened, by digest: an API introspects the same opaque token
 * on every call that carries it, and after the first the answer costs no query and no digest.
 * Misses are kept too (DESIGN.md §4): an unknown value presented again costs no query. Every write
 * drops its row (and any miss for its digest) here at once and, through the change notification
 * its statement sends (oidc-artifact.store.ts, which carries the digest), on every other instance;
 * a row is also dropped when it expires, anything after a minute whatever happens, and everything
 * when the notification connection was lost. A read that raced a drop is not cached (the bounded
 * cache's generation check).
 *
 * Rows an earlier version stored (plain id and payload) are not read as they are: that would send
 * presented tokens to the database as query parameters, where logs and pg_stat_activity may keep
 * them. `sealLegacyRows` rewrites them instead, at start-up and from the janitor.
 */
export function createOidcArtifactService({ store, bus, clock, idKey, payloadKey }: OidcArtifactServiceDeps) {
  const now = () => clock.now().getTime();
  const rows = createBoundedCache<string, ArtifactRow>({
    max: CACHE_LIMIT,
    maxAgeMs: CACHE_MAX_AGE_MS,
    expiresAt: (row) => row.expiresAt?.getTime(),
    now,
  });
  /** digest → the models (joined) known to hold no live row with it */
  const misses = createBoundedCache<string, string>({ max: CACHE_LIMIT, maxAgeMs: CACHE_MAX_AGE_MS, now });
  // The digests of ids whose rows were found, so that a cache hit costs no HMAC at all (two lookups
  // per introspection: the inspector's locate, then oidc-provider's find). A digest never changes:
  // this is a memo, never stale, bounded like the cache; only ids that named a row get in.
  const knownDigests = new Map<string, string>();
  const key = (model: string, digest: string) => `${model}\u0000${digest}`;
  const digestOf = (value: string) => digestSecret(idKey, value);
  const digestOfPresented = (id: string) => knownDigests.get(id) ?? digestOf(id);
  const boundTo = (model: string, digest: string) => `oidc artifact\u0000${model}\u0000${digest}`;

  function seal(model: string, digest: string, payload: ArtifactPayload): Record<string, unknown> {
    return { sealed: encrypt(payloadKey, JSON.stringify(payload), boundTo(model, digest)) };
  }

  /** The payload of a stored row, or undefined when it does not open (not sealed here for this row). */
  function open(row: StoredArtifact): ArtifactRow | undefined {
    const sealed = (row.payload as { sealed?: unknown } | null)?.sealed;
    if (typeof sealed !== 'string') return undefined;
    let payload: ArtifactPayload;
    try {
      payload = JSON.parse(decrypt(payloadKey, sealed, boundTo(row.model, row.id))) as ArtifactPayload;
    } catch {
      // Tampered, or moved to another row: a forged row must not become a token.
      return undefined;
    }
    if (row.consumedAt) payload = { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) };
    return { model: row.model, digest: row.id, payload, grantId: row.grantId, expiresAt: row.expiresAt };
  }

  const fresh = (model: string, digest: string): ArtifactRow | undefined => rows.peek(key(model, digest));

  function forget(model: string, digest: string): void {
    rows.invalidate(key(model, digest));
    misses.invalidate(digest);
  }

  function forgetGrant(grantId: string): void {
    rows.invalidateWhere((row) => row.grantId === grantId);
  }

  function forgetAll(): void {
    rows.clear();
    misses.clear();
    knownDigests.clear();
  }

  bus.subscribe(artifactChanged, ({ model, digest }) => forget(model, digest));
  bus.subscribe(artifactGrantRevoked, ({ grantId }) => forgetGrant(grantId));
  bus.onReset(forgetAll);

  /** A write drops the row before (no read may cache the old row meanwhile) and after it. */
  async function writeThrough(model: string, digest: string, write: () => Promise<void>): Promise<void> {
    forget(model, digest);
    await write();
    forget(model, digest);
  }

  /** Reads the rows with this id among `models` (one query) and caches those that open, or the miss. */
  async function load(models: string[], id: string, digest: string): Promise<ArtifactRow[]> {
    const lookedUp = models.join(',');
    if (misses.peek(digest) === lookedUp) return [];
    const seen = { rows: rows.generation, misses: misses.generation };
    const found = (await store.findRows(models, digest)).map(open).filter((row): row is ArtifactRow => !!row);
    for (const row of found) rows.set(key(row.model, row.digest), row, seen.rows);
    if (found.length) {
      if (knownDigests.size >= CACHE_LIMIT) knownDigests.clear();
      knownDigests.set(id, digest);
    } else {
      misses.set(digest, lookedUp, seen.misses);
    }
    return found;
  }

  // Callers (oidc-provider's models) get their own copy of the top level.
  const copy = (payload: ArtifactPayload): ArtifactPayload => ({ ...payload });
  const text = (v: unknown) => (typeof v === 'string' ? v : null);

  /** A lookup key as the `uid` column holds it: keyed, so the column says nothing about whose row it is. */
  const lookupDigest = (lookup: string) => digestOf(`lookup\u0000${lookup}`);

  /** What a row is stored as: digests and a sealed payload. */
  function toStored(model: string, id: string, payload: ArtifactPayload, lookup?: string) {
    const digest = digestOf(id);
    const userCode = text(payload.userCode);
    const uid = lookup === undefined ? text(payload.uid) : lookupDigest(lookup);
    return {
      digest,
      payload: seal(model, digest, payload),
      columns: { grantId: text(payload.grantId), userCode: userCode === null ? null : digestOf(userCode), uid },
    };
  }

  return {
    /**
     * Stores a model instance. `lookup`, for a model that has no `uid` of its own, is a key to find
     * the row by later (`findByLookup`): a grant's account and client, so consent is remembered per
     * person and client rather than per browser session.
     */
    upsert(model: string, id: string, payload: ArtifactPayload, expiresInSeconds: number | undefined, lookup?: string): Promise<void> {
      const stored = toStored(model, id, payload, lookup);
      return writeThrough(model, stored.digest, () => store.upsert(model, stored.digest, stored.payload, stored.columns, expiresInSeconds));
    },

    async find(model: string, id: string): Promise<ArtifactPayload | undefined> {
      const digest = digestOfPresented(id);
      const hit = fresh(model, digest);
      if (hit) return copy(hit.payload);
      const [row] = await load([model], id, digest);
      return row ? copy(row.payload) : undefined;
    },

    /**
     * Which of `models` (tried in this order) holds a live row with this id, or null: one query for
     * all of them, or none when one is cached. For tokens whose kind the caller cannot tell.
     */
    async locate(id: string, models: string[]): Promise<string | null> {
      const digest = digestOfPresented(id);
      const cached = models.find((model) => fresh(model, digest));
      if (cached) return cached;
      const rows = await load(models, id, digest);
      return models.find((model) => rows.some((row) => row.model === model)) ?? null;
    },

    async findByUserCode(model: string, userCode: string): Promise<ArtifactPayload | undefined> {
      const row = await store.findByUserCode(model, digestOf(userCode));
      return row ? open(row)?.payload : undefined;
    },
    /** A session's uid is no bearer value (never sent to a user agent): it is stored as it is. */
    async findByUid(model: string, uid: string): Promise<ArtifactPayload | undefined> {
      const row = await store.findByUid(model, uid);
      return row ? open(row)?.payload : undefined;
    },

    /** The newest live row stored with this lookup key (see upsert), or undefined. */
    async findByLookup(model: string, lookup: string): Promise<ArtifactPayload | undefined> {
      const row = await store.findByUid(model, lookupDigest(lookup));
      return row ? open(row)?.payload : undefined;
    },

    /** Marks the row consumed; true only for the one call that did (the store's conditional update). */
    async consume(model: string, id: string): Promise<boolean> {
      const digest = digestOf(id);
      let won = false;
      await writeThrough(model, digest, async () => {
        won = await store.consume(model, digest);
      });
      return won;
    },
    destroy(model: string, id: string): Promise<void> {
      const digest = digestOf(id);
      return writeThrough(model, digest, () => store.destroy(model, digest));
    },

    async revokeByGrantId(grantId: string): Promise<void> {
      forgetGrant(grantId);
      await store.revokeByGrantId(grantId);
      forgetGrant(grantId);
    },

    deleteExpired: () => store.deleteExpired(),

    /**
     * Rewrites rows stored before ids were digested (plain id, user code and payload) into the
     * current form, so their tokens keep working and the database stops holding them. Run at
     * start-up and by the janitor (a server of an earlier version may write such rows during a
     * rolling upgrade); returns how many rows it rewrote.
     */
    async sealLegacyRows(): Promise<number> {
      const rewritten = await store.sealLegacyRows((row: LegacyArtifact) => {
        const stored = toStored(row.model, row.id, row.payload as ArtifactPayload);
        return { id: stored.digest, payload: stored.payload, userCode: stored.columns.userCode };
      });
      // Their tokens may have been looked up (and missed) before: forget the misses at once here;
      // other instances drop theirs when the rewrite's notifications arrive.
      if (rewritten) misses.clear();
      return rewritten;
    },

    /** Drops everything held in memory (tests; a reset of the change listener does it too). */
    clear: forgetAll,
  };
}

export type OidcArtifactService = ReturnType<typeof createOidcArtifactService>;
export type { ArtifactPayload };
