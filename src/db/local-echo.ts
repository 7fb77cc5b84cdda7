import type { Logger } from 'pino';
import type { ChangeBus, ChangeKind } from './change-bus.ts';
import type { Storage } from './storage.ts';

/**
 * Read-your-own-writes for caches fed by the change bus. A change published in a transaction
 * reaches every listener through PostgreSQL's NOTIFY, which arrives a moment after the commit,
 * also in the process that wrote it: a request that grants a role and the next one that checks
 * it could see the cache from before the grant. Wrapped together, the storage delivers the
 * changes a transaction published to this process's subscribers as soon as it commits (before
 * `transaction` resolves); the notification still comes back later and is applied again, which
 * invalidation handlers take without harm. A rolled-back transaction delivers nothing.
 *
 * TODO(issue 9): fold into createChangeBus/createStorage so every domain gets it by default.
 */
export function withLocalEcho(bus: ChangeBus, storage: Storage, log?: Logger): { bus: ChangeBus; storage: Storage } {
  /** changes published by a transaction in progress, keyed by its executor */
  const pending = new WeakMap<object, Array<{ kind: string; message: Record<string, unknown> }>>();
  const local = new Map<string, Set<(message: Record<string, unknown>) => void>>();

  function deliver(kind: string, message: Record<string, unknown>): void {
    for (const handler of local.get(kind) ?? []) {
      try {
        handler(message);
      } catch (err) {
        log?.error({ err, kind }, 'applying a local change failed');
      }
    }
  }

  const echoBus: ChangeBus = {
    async publish<T extends Record<string, unknown>>(tx: Parameters<ChangeBus['publish']>[0], kind: ChangeKind<T>, data: T) {
      await bus.publish(tx, kind, data);
      const list = pending.get(tx) ?? [];
      pending.set(tx, list);
      list.push({ kind: kind.kind, message: { ...data, kind: kind.kind } });
    },
    notification: (kind, data) => bus.notification(kind, data),
    subscribe<T extends Record<string, unknown>>(kind: ChangeKind<T>, handler: (data: T) => void) {
      const stop = bus.subscribe(kind, handler);
      const wrapped = (message: Record<string, unknown>) => {
        const data = kind.read(message);
        if (data) handler(data);
      };
      const set = local.get(kind.kind) ?? new Set();
      local.set(kind.kind, set);
      set.add(wrapped);
      return () => {
        stop();
        set.delete(wrapped);
      };
    },
    onReset: (handler) => bus.onReset(handler),
    start: () => bus.start(),
    stop: () => bus.stop(),
  };

  const echoStorage: Storage = {
    db: storage.db,
    async transaction(fn, options) {
      let executor: object | undefined;
      const result = await storage.transaction((tx) => {
        executor = tx;
        return fn(tx);
      }, options);
      const published = executor && pending.get(executor);
      if (executor && published) {
        pending.delete(executor);
        for (const { kind, message } of published) deliver(kind, message);
      }
      return result;
    },
  };

  return { bus: echoBus, storage: echoStorage };
}
