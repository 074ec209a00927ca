import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { IAvailability, IRuleChanges } from '../../api/types';
import {
  EVENTS_NOT_CONFIGURED,
  EventsModel,
  IRuleEvent
} from '../../models/events';
import { LIVE_POLL_SECONDS } from '../../models/polling';
import { WatchModel } from '../../models/watch';
import { DEFAULT_PREFERENCES } from '../../tokens';
import { availability, INSTANCE, rule } from '../fakeLake';

/** A server-sent-events body, written to by the test. */
class FakeStream {
  push(text: string): void {
    this._chunks.push(new TextEncoder().encode(text));
    this._wake();
  }

  end(): void {
    this._ended = true;
    this._wake();
  }

  response(): Response {
    const reader = {
      read: async (): Promise<{ value?: Uint8Array; done: boolean }> => {
        while (this._chunks.length === 0 && !this._ended) {
          await new Promise<void>(resolve => (this._wake = resolve));
        }
        const value = this._chunks.shift();
        return value ? { value, done: false } : { done: true };
      }
    };
    return { body: { getReader: () => reader } } as unknown as Response;
  }

  private _chunks: Uint8Array[] = [];
  private _ended = false;
  private _wake: () => void = () => undefined;
}

function event(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** Let promises and signal handlers run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

describe('EventsModel', () => {
  let streams: FakeStream[];
  let api: DataLakeAPI;
  let opened: jest.Mock;
  let signals: AbortSignal[];

  beforeEach(() => {
    streams = [];
    signals = [];
    opened = jest.fn(async (_instance: string, signal: AbortSignal) => {
      const stream = new FakeStream();
      streams.push(stream);
      signals.push(signal);
      return stream.response();
    });
    api = { events: opened } as unknown as DataLakeAPI;
  });

  it('passes the rule events on and says when the instance is live', async () => {
    const model = new EventsModel({ api, sleep: async () => undefined });
    const events: IRuleEvent[] = [];
    const live: boolean[] = [];
    model.ruleEvent.connect((_, e) => events.push(e));
    model.liveChanged.connect(() => live.push(model.isLive(INSTANCE)));
    model.follow([INSTANCE]);
    await settle();
    expect(opened).toHaveBeenCalledTimes(1);

    streams[0].push(event({ type: 'stream', live: true }));
    // a message may come in pieces
    const rule = event({
      type: 'rule',
      event: 'rule_ok',
      rule_id: 'r1',
      did: 'ska:d1'
    });
    streams[0].push(rule.slice(0, 20));
    await settle();
    expect(events).toEqual([]);
    streams[0].push(rule.slice(20) + ': keep-alive\n\n');
    await settle();

    expect(model.isLive(INSTANCE)).toBe(true);
    expect(events).toEqual([
      { instance: INSTANCE, event: 'rule_ok', ruleId: 'r1', did: 'ska:d1' }
    ]);
    expect(live).toEqual([true]);
    model.dispose();
  });

  it('is not live while the stream is down, and opens it again', async () => {
    const model = new EventsModel({ api, sleep: async () => undefined });
    model.follow([INSTANCE]);
    await settle();
    streams[0].push(event({ type: 'stream', live: true }));
    await settle();
    expect(model.isLive(INSTANCE)).toBe(true);

    streams[0].end(); // the Jupyter server restarted, or a proxy cut it
    await settle();
    expect(opened).toHaveBeenCalledTimes(2);
    expect(model.isLive(INSTANCE)).toBe(false);

    // the server itself lost its broker: not live either, though the stream is open
    streams[1].push(event({ type: 'stream', live: false }));
    await settle();
    expect(model.isLive(INSTANCE)).toBe(false);
    model.dispose();
  });

  it('leaves an instance without a broker alone', async () => {
    opened.mockRejectedValue(
      new DataLakeRequestError('no events', 404, EVENTS_NOT_CONFIGURED)
    );
    const model = new EventsModel({ api, sleep: async () => undefined });
    model.follow([INSTANCE]);
    await settle();
    model.follow([INSTANCE]);
    await settle();
    expect(opened).toHaveBeenCalledTimes(1);
    expect(model.isLive(INSTANCE)).toBe(false);
    model.dispose();
  });

  it('closes the stream of an instance no longer followed', async () => {
    const model = new EventsModel({ api, sleep: async () => undefined });
    model.follow([INSTANCE]);
    await settle();
    model.follow([]);
    expect(signals[0].aborted).toBe(true);
    model.dispose();
  });
});

describe('WatchModel with events and change-only checks', () => {
  let api: DataLakeAPI;
  let checked: string[][];
  let changes: IRuleChanges;
  let events: EventsModel;
  let streams: FakeStream[];
  let watch: WatchModel;
  const preferences = {
    ...DEFAULT_PREFERENCES,
    pollInterval: 10,
    transferPollInterval: 5
  };

  beforeEach(() => {
    jest.useFakeTimers();
    checked = [];
    streams = [];
    changes = { since: null, rules: [], dids: [] };
    api = {
      availability: jest.fn(
        async (_: string, dids: string[]): Promise<IAvailability[]> => {
          checked.push(dids);
          return dids.map(did => availability(did, 'AVAILABLE'));
        }
      ),
      changes: jest.fn(async () => changes),
      myRules: jest.fn(async () => []),
      events: jest.fn(async () => {
        const stream = new FakeStream();
        streams.push(stream);
        return stream.response();
      })
    } as unknown as DataLakeAPI;
    events = new EventsModel({ api, sleep: async () => undefined });
    watch = new WatchModel({
      api,
      preferences: () => preferences,
      isPanelVisible: () => true,
      events,
      checkChangesOnly: true
    });
  });

  afterEach(() => {
    watch.dispose();
    events.dispose();
    jest.useRealTimers();
  });

  async function refresh(): Promise<void> {
    const done = watch.refresh();
    await jest.advanceTimersByTimeAsync(50);
    await done;
  }

  it('checks only the DIDs whose rules changed since the last tick', async () => {
    const dids = Array.from({ length: 100 }, (_, i) => `ska:d${i}`);
    dids.forEach(did => watch.watch(INSTANCE, did));
    await refresh();
    expect(checked).toEqual([dids]); // everything, the first time

    changes = {
      since: '2026-01-01T10:00:05+00:00',
      rules: [rule({ id: 'r7', did: 'ska:d7', state: 'OK' })],
      dids: ['ska:d7']
    };
    await refresh();
    expect(checked[1]).toEqual(['ska:d7']);
    expect(api.changes).toHaveBeenLastCalledWith(INSTANCE, null);

    await refresh(); // the same rule again (Rucio counts whole seconds): nothing new
    expect(checked).toHaveLength(2);
    expect(api.changes).toHaveBeenLastCalledWith(
      INSTANCE,
      '2026-01-01T10:00:05+00:00'
    );
  });

  it('checks a DID at once when an event names it, and polls slowly while events arrive', async () => {
    watch.watch(INSTANCE, 'ska:d1');
    watch.watch(INSTANCE, 'ska:d2');
    await refresh();
    expect(streams).toHaveLength(1);
    streams[0].push(event({ type: 'stream', live: true }));
    await jest.advanceTimersByTimeAsync(10);
    expect(events.isLive(INSTANCE)).toBe(true);
    await refresh(); // what the stream may have missed before it was live: everything once
    expect(checked[checked.length - 1]).toEqual(['ska:d1', 'ska:d2']);

    const before = checked.length;
    streams[0].push(
      event({ type: 'rule', event: 'rule_ok', rule_id: 'r', did: 'ska:d2' })
    );
    await jest.advanceTimersByTimeAsync(50);
    expect(checked.slice(before)).toEqual([['ska:d2']]);

    // an event of a DID nobody watches checks nothing
    streams[0].push(
      event({ type: 'rule', event: 'rule_ok', rule_id: 'x', did: 'ska:other' })
    );
    await jest.advanceTimersByTimeAsync(50);
    const ticks = (api.changes as jest.Mock).mock.calls.length;
    await jest.advanceTimersByTimeAsync((LIVE_POLL_SECONDS - 5) * 1000);
    expect((api.changes as jest.Mock).mock.calls.length).toBe(ticks);

    // the stream drops: back to the normal interval (10 s)
    streams[0].push(event({ type: 'stream', live: false }));
    await jest.advanceTimersByTimeAsync(25_000);
    expect(
      (api.changes as jest.Mock).mock.calls.length - ticks
    ).toBeGreaterThanOrEqual(2);
  });
});
