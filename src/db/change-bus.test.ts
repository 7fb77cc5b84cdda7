import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../lib/logger.ts';
import { CHANGES_CHANNEL, createChangeBus, defineChange } from './change-bus.ts';

const thing = defineChange('thing', (m) => (typeof m.id === 'string' ? { id: m.id } : null));

/** A database whose LISTEN this test drives by hand. */
function fakeDatabase() {
  const listener: { onMessage?: (payload: string) => void; onReset?: () => void; channel?: string } = {};
  return {
    listener,
    db: {
      async listen(channel: string, onMessage: (payload: string) => void, onReset: () => void) {
        Object.assign(listener, { channel, onMessage, onReset });
        return async () => {};
      },
    },
  };
}

describe('change bus', () => {
  const log = createLogger({ level: 'silent' });

  it('publishes `{ kind, ...data }` with pg_notify inside the caller’s transaction (the wire format of every version)', async () => {
    const { db } = fakeDatabase();
    const bus = createChangeBus(db, log);
    const executeRaw = vi.fn(async () => 1);
    await bus.publish({ $executeRaw: executeRaw }, thing, { id: 'a' });
    expect(executeRaw).toHaveBeenCalledTimes(1);
    const [, channel, payload] = executeRaw.mock.calls[0] as unknown as [unknown, string, string];
    expect(channel).toBe(CHANGES_CHANNEL);
    expect(JSON.parse(payload)).toEqual({ id: 'a', kind: 'thing' });
    expect(bus.notification(thing, { id: 'b' })).toEqual([CHANGES_CHANNEL, JSON.stringify({ id: 'b', kind: 'thing' })]);
  });

  it('delivers each change to the subscribers of its kind, as the kind reads it', async () => {
    const { db, listener } = fakeDatabase();
    const bus = createChangeBus(db, log);
    const seen: unknown[] = [];
    const other: unknown[] = [];
    bus.subscribe(thing, (data) => seen.push(data));
    bus.subscribe(
      defineChange('other', () => ({})),
      (data) => other.push(data),
    );
    await bus.start();
    expect(listener.channel).toBe(CHANGES_CHANNEL);
    listener.onMessage?.(JSON.stringify({ kind: 'thing', id: 'x', extra: 1 }));
    expect(seen).toEqual([{ id: 'x' }]);
    expect(other).toEqual([]);
  });

  it('ignores what it cannot read: not JSON, no kind, data its kind refuses', async () => {
    const { db, listener } = fakeDatabase();
    const bus = createChangeBus(db, log);
    const seen: unknown[] = [];
    bus.subscribe(thing, (data) => seen.push(data));
    await bus.start();
    for (const payload of ['not json', '[]', '{"id":"x"}', '{"kind":"thing","id":7}']) listener.onMessage?.(payload);
    expect(seen).toEqual([]);
  });

  it('keeps delivering to the other subscribers when one throws, and stops after unsubscribe', async () => {
    const { db, listener } = fakeDatabase();
    const bus = createChangeBus(db, log);
    const seen: string[] = [];
    bus.subscribe(thing, () => {
      throw new Error('boom');
    });
    const stop = bus.subscribe(thing, ({ id }) => seen.push(id));
    await bus.start();
    listener.onMessage?.(JSON.stringify({ kind: 'thing', id: '1' }));
    stop();
    listener.onMessage?.(JSON.stringify({ kind: 'thing', id: '2' }));
    expect(seen).toEqual(['1']);
  });

  it('tells every reset handler when changes may have been missed (the listener reconnected)', async () => {
    const { db, listener } = fakeDatabase();
    const bus = createChangeBus(db, log);
    let resets = 0;
    bus.onReset(() => resets++);
    bus.onReset(() => resets++);
    await bus.start();
    listener.onReset?.();
    expect(resets).toBe(2);
  });
});
