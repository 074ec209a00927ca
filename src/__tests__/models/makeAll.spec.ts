import { ITransfer } from '../../models/transfers';
import type { DataLakeModel } from '../../models/datalake';
import { makeEachAvailable, pendingTotals } from '../../models/makeAll';
import { availability, TARGETS } from '../fakeLake';

describe('makeEachAvailable', () => {
  it('goes on after one fails, telling a refusal from a request that never started', async () => {
    const asked: string[] = [];
    // Only makeAvailable is used: a refusal comes back as a failed transfer, a throw means no transfer at all.
    const lake = {
      makeAvailable: async (options: { did: string }) => {
        asked.push(options.did);
        if (options.did === 'ska:thrown') {
          throw new Error('No Rucio instance is available yet.');
        }
        return {
          did: options.did,
          error:
            options.did === 'ska:refused'
              ? { message: 'embargoed until 2999-01-01' }
              : null
        } as ITransfer;
      }
    } as unknown as DataLakeModel;
    const entries = ['ska:thrown', 'ska:refused', 'ska:fine'].map(did => ({
      instance: 'ska',
      did
    }));

    const result = await makeEachAvailable(lake, entries, TARGETS[0], 7);

    expect(asked).toEqual(['ska:thrown', 'ska:refused', 'ska:fine']);
    expect(result).toEqual({
      started: ['ska:fine'],
      failed: [
        {
          did: 'ska:thrown',
          message: 'No Rucio instance is available yet.',
          unreported: true
        },
        { did: 'ska:refused', message: 'embargoed until 2999-01-01' }
      ]
    });
  });
});

describe('pendingTotals', () => {
  // half: 1 of 2 files (500 of 1000 bytes) at the notebook; there: all; fresh: none; unseen: not polled yet.
  const entries = [
    {
      did: 'ska:half',
      availability: availability(
        'ska:half',
        'PARTIAL',
        { total: 2, at_notebook: 1 },
        1000
      ),
      size: 1000
    },
    {
      did: 'ska:there',
      availability: availability('ska:there', 'AVAILABLE', { total: 2 }, 400),
      size: 400
    },
    {
      did: 'ska:fresh',
      availability: availability(
        'ska:fresh',
        'NOT_AVAILABLE',
        { total: 1 },
        300
      ),
      size: null
    },
    { did: 'ska:unseen', availability: null, size: 200 }
  ];

  it('counts the DIDs not fully at the notebook, the unknown among them, and what they would copy', () => {
    const totals = pendingTotals(entries, entry => entry.size);

    expect(totals.count).toBe(4);
    expect(totals.pending.map(entry => entry.did)).toEqual([
      'ska:half',
      'ska:fresh',
      'ska:unseen'
    ]);
    expect(totals.unknownAvailability).toBe(1);
    // Known sizes: 1000 + 400 + 200; at the notebook: 500 + 400.
    expect(totals.bytes).toBe(1600);
    expect(totals.bytesAtNotebook).toBe(900);
    // half still copies 500, unseen all its 200; fresh has no size.
    expect(totals.bytesToCopy).toBe(700);
    expect(totals.unknownSizes).toBe(1);
  });

  it('takes the sizes from where the caller says', () => {
    const totals = pendingTotals(
      entries,
      entry => entry.availability?.bytes.total ?? null
    );

    // Sizes now from the availability: fresh 300 known, unseen unknown.
    expect(totals.bytes).toBe(1000 + 400 + 300);
    expect(totals.bytesToCopy).toBe(500 + 300);
    expect(totals.unknownSizes).toBe(1);
  });

  it('has nothing pending when everything is at the notebook', () => {
    const totals = pendingTotals([entries[1]], entry => entry.size);

    expect(totals.pending).toEqual([]);
    expect(totals.bytesToCopy).toBe(0);
    expect(totals.unknownSizes).toBe(0);
  });
});
