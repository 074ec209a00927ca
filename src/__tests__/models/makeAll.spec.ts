import { ITransfer } from '../../models/transfers';
import type { DataLakeModel } from '../../models/datalake';
import { makeEachAvailable } from '../../models/makeAll';
import { TARGETS } from '../fakeLake';

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
