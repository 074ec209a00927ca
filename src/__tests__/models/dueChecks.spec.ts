import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { IRuleChanges } from '../../api/types';
import { DueChecks, FULL_CHECK_MS } from '../../models/dueChecks';
import { rule } from '../fakeLake';

/** An API whose `changes` answers from a list (a DataLakeRequestError is thrown). */
function changesApi(answers: (IRuleChanges | DataLakeRequestError)[]): {
  api: DataLakeAPI;
  asked: (string | null)[];
} {
  const asked: (string | null)[] = [];
  const api = {
    changes: async (_instance: string, since: string | null) => {
      asked.push(since);
      const answer = answers.shift()!;
      if (answer instanceof DataLakeRequestError) {
        throw answer;
      }
      return answer;
    }
  } as unknown as DataLakeAPI;
  return { api, asked };
}

const DIDS = ['ska:a', 'ska:b', 'ska:c'];

describe('DueChecks', () => {
  afterEach(() => jest.useRealTimers());

  it('checks everything without change-only checks, asking no changes', async () => {
    const { api, asked } = changesApi([]);
    const due = new DueChecks({ api, changesOnly: false, isLive: () => false });

    expect(await due.due('ska', DIDS, () => false)).toEqual({
      dids: DIDS,
      changes: null
    });
    expect(asked).toEqual([]);
  });

  it('checks only what changed, what must be checked, and everything again after FULL_CHECK_MS', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const ruleOfB = rule({ id: 'rb', did: 'ska:b' });
    const { api, asked } = changesApi([
      { since: 't1', rules: [], dids: [] },
      { since: 't2', rules: [ruleOfB], dids: ['ska:b'] },
      // The same rule again, unchanged: its DID is not due for it.
      { since: 't3', rules: [ruleOfB], dids: ['ska:b'] },
      { since: 't4', rules: [], dids: [] }
    ]);
    const due = new DueChecks({ api, changesOnly: true, isLive: () => false });

    // The first tick checks everything.
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual(DIDS);
    expect((await due.due('ska', DIDS, did => did === 'ska:c')).dids).toEqual([
      'ska:b',
      'ska:c'
    ]);
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual([]);
    jest.setSystemTime(1_000_000 + FULL_CHECK_MS);
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual(DIDS);
    // Each ask passes back the last `since`.
    expect(asked).toEqual([null, 't1', 't2', 't3']);
  });

  it('checks everything of a server without the changes endpoint, and stops asking it', async () => {
    const { api, asked } = changesApi([
      new DataLakeRequestError('Not found', 404, 'not_found')
    ]);
    const due = new DueChecks({ api, changesOnly: true, isLive: () => false });

    expect(await due.due('ska', DIDS, () => false)).toEqual({
      dids: DIDS,
      changes: null
    });
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual(DIDS);
    expect(asked).toEqual([null]);
  });

  it('passes on another failure, and checks everything next after checkAllNext', async () => {
    const { api } = changesApi([
      new DataLakeRequestError('Rucio is down', 503, 'service_unreachable'),
      { since: 't1', rules: [], dids: [] },
      { since: 't2', rules: [], dids: [] },
      { since: 't3', rules: [], dids: [] }
    ]);
    const due = new DueChecks({ api, changesOnly: true, isLive: () => true });

    await expect(due.due('ska', DIDS, () => false)).rejects.toThrow(
      'Rucio is down'
    );
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual(DIDS);
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual([]);
    due.checkAllNext('ska');
    expect((await due.due('ska', DIDS, () => false)).dids).toEqual(DIDS);
  });
});
