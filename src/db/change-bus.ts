import type { Logger } from 'pino';
import type { Database } from './database.ts';

/**
 * Cache invalidation across processes, knowing no domain: every write another process may hold in
 * memory publishes a change with `pg_notify` inside its own transaction, so the notification is
 * delivered exactly when (and only if) the write commits. Every server LISTENs; each domain declares
 * its change kinds (`<domain>.changes.ts`) and subscribes its own caches.
 *
 * Wire format: one JSON object `{ "kind": <kind>, ...data }` on the channel `gatehouse_changes`.
 * It is the format every earlier version used, so instances of two versions sharing a database
 * during a rolling upgrade still understand each other.
 */
export const CHANGES_CHANNEL = 'gatehouse_changes';

/** A kind of change: its name on the wire and how to read its data back (null: ignore it). */
export interface ChangeKind<T extends Record<string, unknown>> {
  readonly kind: string;
  read(message: Record<string, unknown>): T | null;
}

/**
 * Declares a change kind. `read` gets the decoded message (`kind` included) and returns the data,
 * or null for a message it cannot use (from a newer version, or malformed).
 */
export function defineChange<T extends Record<string, unknown>>(
  kind: string,
  read: (message: Record<string, unknown>) => T | null,
): ChangeKind<T> {
  return { kind, read };
}

/** Anything that can run one statement inside the caller's transaction. */
export interface SqlExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

export interface ChangeBus {
  /** Publishes `data` as part of the transaction `tx` (delivered only if it commits). */
  publish<T extends Record<string, unknown>>(tx: SqlExecutor, kind: ChangeKind<T>, data: T): Promise<void>;
  /**
   * The two arguments of `pg_notify(channel, payload)` for a statement that publishes by itself
   * (hot paths that write and notify in one round trip).
   */
  notification<T extends Record<string, unknown>>(kind: ChangeKind<T>, data: T): [channel: string, payload: string];
  /** Calls `handler` for each change of `kind` from any process, this one included. */
  subscribe<T extends Record<string, unknown>>(kind: ChangeKind<T>, handler: (data: T) => void): () => void;
  /** Calls `handler` when changes may have been missed (the listening connection dropped): reload. */
  onReset(handler: () => void): () => void;
  /** Starts listening. Subscriptions made before or after both work. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createChangeBus(db: Pick<Database, 'listen'>, log: Logger): ChangeBus {
  const handlers = new Map<string, Set<(message: Record<string, unknown>) => void>>();
  const resets = new Set<() => void>();
  let unlisten: (() => Promise<void>) | undefined;

  const encode = (kind: string, data: Record<string, unknown>) => JSON.stringify({ ...data, kind });

  function deliver(payload: string): void {
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object' || typeof (message as { kind?: unknown }).kind !== 'string') return;
    const kind = (message as { kind: string }).kind;
    for (const handler of handlers.get(kind) ?? []) {
      try {
        handler(message as Record<string, unknown>);
      } catch (err) {
        log.error({ err, kind }, 'applying a change notification failed');
      }
    }
  }

  function reset(): void {
    log.info('change listener reconnected; reloading cached state');
    for (const handler of resets) {
      try {
        handler();
      } catch (err) {
        log.error({ err }, 'reloading cached state failed');
      }
    }
  }

  return {
    async publish(tx, kind, data) {
      await tx.$executeRaw`SELECT pg_notify(${CHANGES_CHANNEL}, ${encode(kind.kind, data)})`;
    },
    notification: (kind, data) => [CHANGES_CHANNEL, encode(kind.kind, data)],
    subscribe(kind, handler) {
      const wrapped = (message: Record<string, unknown>) => {
        const data = kind.read(message);
        if (data) handler(data);
      };
      const set = handlers.get(kind.kind) ?? new Set();
      handlers.set(kind.kind, set);
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
    onReset(handler) {
      resets.add(handler);
      return () => resets.delete(handler);
    },
    async start() {
      unlisten ??= await db.listen(CHANGES_CHANNEL, deliver, reset);
    },
    async stop() {
      const stop = unlisten;
      unlisten = undefined;
      await stop?.();
    },
  };
}
