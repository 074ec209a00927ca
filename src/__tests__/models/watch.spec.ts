import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { MAX_BACKOFF_MS } from '../../models/polling';
import { WatchModel } from '../../models/watch';
import { DEFAULT_PREFERENCES, IDataLakePreferences } from '../../tokens';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  rule
} from '../fakeLake';

describe('WatchModel', () => {
  let lake: FakeLake;
  let watch: WatchModel | null = null;
  let visible: boolean;
  let preferences: IDataLakePreferences;
  let errors: DataLakeRequestError[];

  /** Refresh under fake timers: the poll schedules on the (fake) clock. */
  async function refresh(model: WatchModel): Promise<void> {
    const done = model.refresh();
    await jest.advanceTimersByTimeAsync(50);
    await done;
  }

  function createWatch(): WatchModel {
    watch = new WatchModel({
      api: new DataLakeAPI(lake.settings),
      preferences: () => preferences,
      isPanelVisible: () => visible,
      onError: (_, error) => errors.push(error)
    });
    return watch;
  }

  beforeEach(() => {
    jest.useFakeTimers();
    lake = new FakeLake();
    visible = true;
    errors = [];
    preferences = {
      ...DEFAULT_PREFERENCES,
      pollInterval: 30,
      transferPollInterval: 5
    };
  });

  afterEach(() => {
    watch?.dispose();
    watch = null;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('checks N watched DIDs with exactly one bulk request', async () => {
    const dids = Array.from({ length: 250 }, (_, i) => `lofar:dataset_${i}`);
    dids.forEach(did => lake.states.set(did, availability(did, 'AVAILABLE')));
    const model = createWatch();
    dids.forEach(did => model.watch(INSTANCE, did));

    await refresh(model);

    expect(lake.calls).toEqual(['POST availability']);
    const [body] = (await lake.bodies('POST availability')) as {
      dids: string[];
    }[];
    expect(body.dids).toHaveLength(250);
    expect(new Set(body.dids)).toEqual(new Set(dids));
    expect(
      model.entries.every(entry => entry.availability?.state === 'AVAILABLE')
    ).toBe(true);
    expect(model.lastUpdated).toBeInstanceOf(Date);
  });

  it('keeps to one request per tick over time, never one per DID', async () => {
    const model = createWatch();
    for (let i = 0; i < 40; i++) {
      model.watch(INSTANCE, `ska:obs_${i}`);
    }
    await jest.advanceTimersByTimeAsync(10 * 60 * 1000);

    const ticks = lake.count('POST availability');
    // Idle (nothing on its way): one request per 30 s interval.
    expect(ticks).toBeGreaterThanOrEqual(19);
    expect(ticks).toBeLessThanOrEqual(21);
    expect(lake.calls.every(call => call === 'POST availability')).toBe(true);
  });

  it('splits more DIDs than the server takes at once (2000) into the fewest requests', async () => {
    const model = createWatch();
    for (let i = 0; i < 2500; i++) {
      model.watch(INSTANCE, `lofar:f${i}`);
    }
    await refresh(model);

    const bodies = (await lake.bodies('POST availability')) as {
      dids: string[];
    }[];
    expect(bodies.map(body => body.dids.length)).toEqual([2000, 500]);
  });

  it('polls at the transfer interval while something replicates, at the normal one otherwise', async () => {
    const did = 'ska:AA05_quicklook_0001';
    lake.states.set(did, availability(did, 'REPLICATING', { total: 1 }, 4096));
    const model = createWatch();
    model.watch(INSTANCE, did);
    await jest.advanceTimersByTimeAsync(100);
    expect(model.isActive).toBe(true);

    const before = lake.count('POST availability');
    await jest.advanceTimersByTimeAsync(30_000);
    // 5 s while replicating: about 6 checks in 30 s.
    expect(lake.count('POST availability') - before).toBeGreaterThanOrEqual(5);

    lake.states.set(did, availability(did, 'AVAILABLE', { total: 1 }, 4096));
    await jest.advanceTimersByTimeAsync(5_100);
    expect(model.get(INSTANCE, did)?.availability?.state).toBe('AVAILABLE');
    expect(model.isActive).toBe(false);

    const settled = lake.count('POST availability');
    await jest.advanceTimersByTimeAsync(60_000);
    // Back to 30 s (the first wait may still be the 5 s one).
    expect(lake.count('POST availability') - settled).toBeLessThanOrEqual(3);
  });

  it('stands by when nothing is watched, and when the panel is hidden with nothing on its way', async () => {
    const model = createWatch();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(lake.calls).toEqual([]);

    const did = 'lofar:L2023_712342_HBA';
    lake.states.set(did, availability(did, 'NOT_AVAILABLE'));
    visible = false;
    model.watch(INSTANCE, did);
    // Its state is unknown: checked once, even hidden; then standby.
    await jest.advanceTimersByTimeAsync(120_000);
    expect(lake.calls).toEqual(['POST availability']);

    // A transfer on its way is followed even with the panel hidden.
    model.watch(INSTANCE, did, { follow: true });
    await jest.advanceTimersByTimeAsync(31_000);
    expect(lake.count('POST availability')).toBeGreaterThan(1);
  });

  it('backs off while the bulk check fails, then resumes', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    lake.overrides.set('POST availability', () =>
      errorResponse(502, 'Rucio did not answer.', 'service_unavailable')
    );
    const model = createWatch();
    model.watch(INSTANCE, 'lofar:L2023_712342_HBA');
    await jest.advanceTimersByTimeAsync(60 * 60 * 1000);

    // At 30 s an hour would be 120 checks.
    expect(lake.count('POST availability')).toBeLessThan(25);
    const times = lake.server.requestTimes;
    const gaps = times.slice(1).map((time, i) => time - times[i]);
    expect(Math.max(...gaps)).toBe(MAX_BACKOFF_MS);
    expect(model.error?.message).toBe('Rucio did not answer.');
    expect(errors.length).toBe(lake.count('POST availability'));

    lake.overrides.delete('POST availability');
    await jest.advanceTimersByTimeAsync(MAX_BACKOFF_MS + 1000);
    expect(model.error).toBeNull();
    expect(model.entries[0].availability?.state).toBe('NOT_AVAILABLE');
  });

  it('reports what changed, and only that', async () => {
    const a = 'lofar:a';
    const b = 'lofar:b';
    lake.states.set(a, availability(a, 'REPLICATING'));
    lake.states.set(b, availability(b, 'NOT_AVAILABLE'));
    const model = createWatch();
    const changes: string[][] = [];
    model.availabilityChanged.connect((_, list) =>
      changes.push(
        list.map(
          change =>
            `${change.did}:${change.previous?.state ?? null}>${change.current.state}`
        )
      )
    );
    model.watch(INSTANCE, a);
    model.watch(INSTANCE, b);
    await refresh(model);
    lake.states.set(a, availability(a, 'AVAILABLE'));
    await refresh(model);
    await refresh(model);

    expect(changes).toEqual([
      ['lofar:a:null>REPLICATING', 'lofar:b:null>NOT_AVAILABLE'],
      ['lofar:a:REPLICATING>AVAILABLE']
    ]);
  });

  it('follows rules to a QoS class with one rules request per tick until they settle', async () => {
    const did = 'lofar:L2023_712342_HBA';
    const safe = rule({
      id: 'r'.repeat(32),
      did,
      rse_expression: 'QOS=SAFE',
      towards_notebook: false
    });
    lake.rules.set(did, [safe]);
    const model = createWatch();
    model.followRule(INSTANCE, safe);
    await refresh(model);
    expect(lake.calls).toEqual(['GET rules']);

    lake.rules.set(did, [
      { ...safe, state: 'OK', locks: { ok: 1, replicating: 0, stuck: 0 } }
    ]);
    const changed: string[] = [];
    model.rulesChanged.connect((_, list) =>
      list.forEach(item => changed.push(item.rule.state))
    );
    await refresh(model);
    expect(changed).toEqual(['OK']);
    expect(model.followedRule(safe.id)?.state).toBe('OK');

    // Settled: no more rules requests.
    await refresh(model);
    expect(lake.count('GET rules')).toBe(2);
  });

  it('saves and restores the watched set, checking availability anew', async () => {
    const model = createWatch();
    model.watch(INSTANCE, 'lofar:a', {
      availability: availability('lofar:a', 'AVAILABLE')
    });
    model.watch('other-lake', 'cta:b');
    const saved = JSON.parse(JSON.stringify(model.toJSON()));
    model.dispose();

    const restored = createWatch();
    restored.restore(saved);
    restored.restore({ dids: [{ instance: 1, did: null }] } as never);
    expect(
      restored.entries
        .map(entry => [entry.instance, entry.did, entry.availability])
        .sort()
    ).toEqual([
      [INSTANCE, 'lofar:a', null],
      ['other-lake', 'cta:b', null]
    ]);
  });

  it('tells about a 401 so the panel can ask the user to sign in', async () => {
    lake.overrides.set('POST availability', () =>
      errorResponse(
        401,
        'The token from file:/x expired 3 min ago. Sign in again.',
        'credentials_expired'
      )
    );
    const model = createWatch();
    model.watch(INSTANCE, 'lofar:a');
    await refresh(model);
    expect(errors[0].status).toBe(401);
    expect(errors[0].message).toBe(
      'The token from file:/x expired 3 min ago. Sign in again.'
    );
  });
});
