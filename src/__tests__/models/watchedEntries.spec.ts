import { DataLakeAPI, MAX_AVAILABILITY_DIDS } from '../../api/client';
import {
  watchFrequency,
  watchStandby,
  LIVE_POLL_SECONDS
} from '../../models/polling';
import {
  checkAvailability,
  didsByInstance,
  entriesOfState,
  IWatchedEntry,
  newEntry,
  watchedState,
  watchKey
} from '../../models/watchedEntries';
import { availability } from '../fakeLake';

describe('watched entries', () => {
  it('keep what survives a reload, and read back only what has the right types', () => {
    const entries = [newEntry('ska', 'ska:a', null, 5)];
    expect(watchedState(entries)).toEqual({
      dids: [{ instance: 'ska', did: 'ska:a', addedAt: 5 }]
    });
    const read = entriesOfState({
      dids: [
        { instance: 'ska', did: 'ska:a', addedAt: 5 },
        { instance: 'ska', did: 'ska:b' },
        { instance: 7, did: 'ska:c' } as unknown as {
          instance: string;
          did: string;
        }
      ]
    });
    expect(
      read.map(entry => [entry.did, entry.availability, entry.checked])
    ).toEqual([
      ['ska:a', null, 0],
      ['ska:b', null, 0]
    ]);
    expect(read[0].addedAt).toBe(5);
    expect(typeof read[1].addedAt).toBe('number');
    expect(entriesOfState(null)).toEqual([]);
  });

  it('group the DIDs by instance', () => {
    const byInstance = didsByInstance([
      newEntry('ska', 'ska:a', null),
      newEntry('lofar', 'lofar:x', null),
      newEntry('ska', 'ska:b', null)
    ]);
    expect([...byInstance]).toEqual([
      ['ska', ['ska:a', 'ska:b']],
      ['lofar', ['lofar:x']]
    ]);
  });

  it('are checked in bulk chunks, the changes told and every entry marked', async () => {
    const dids = Array.from(
      { length: MAX_AVAILABILITY_DIDS + 1 },
      (_, i) => `ska:f${i}`
    );
    const entries = new Map<string, IWatchedEntry>(
      dids.map(did => [watchKey('ska', did), newEntry('ska', did, null)])
    );
    // The first one is known already as the check will find it.
    entries.get(watchKey('ska', dids[0]))!.availability = availability(
      dids[0],
      'AVAILABLE'
    );
    const chunks: string[][] = [];
    const api = {
      availability: async (_instance: string, asked: string[]) => {
        chunks.push(asked);
        return asked.map(did => availability(did, 'AVAILABLE'));
      }
    } as unknown as DataLakeAPI;

    const changes = await checkAvailability(api, 'ska', dids, entries, 3);

    expect(chunks.map(chunk => chunk.length)).toEqual([
      MAX_AVAILABILITY_DIDS,
      1
    ]);
    expect(changes).toHaveLength(dids.length - 1);
    expect(changes[0]).toMatchObject({ did: dids[1], previous: null });
    expect([...entries.values()].every(entry => entry.checked === 3)).toBe(
      true
    );
  });
});

describe('the watch poll pace', () => {
  const intervals = { pollInterval: 30, transferPollInterval: 5 };

  it('runs at the transfer interval while active, never faster than LIVE_POLL_SECONDS while live', () => {
    expect(
      watchFrequency(intervals, { active: false, allLive: false }).interval
    ).toBe(30000);
    expect(
      watchFrequency(intervals, { active: true, allLive: false }).interval
    ).toBe(5000);
    expect(
      watchFrequency(intervals, { active: true, allLive: true }).interval
    ).toBe(LIVE_POLL_SECONDS * 1000);
  });

  it('stands by with nothing to do, when hidden while something is on its way, never right after a refresh', () => {
    const state = {
      requested: false,
      empty: false,
      active: false,
      panelVisible: false
    };
    expect(watchStandby(state)).toBe(true);
    expect(watchStandby({ ...state, empty: true, panelVisible: true })).toBe(
      true
    );
    expect(watchStandby({ ...state, active: true })).toBe('when-hidden');
    expect(watchStandby({ ...state, panelVisible: true })).toBe('when-hidden');
    expect(watchStandby({ ...state, empty: true, requested: true })).toBe(
      'never'
    );
  });
});
