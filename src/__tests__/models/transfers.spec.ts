import { DataLakeAPI } from '../../api/client';
import { ITransfer, TransfersModel } from '../../models/transfers';
import { WatchModel } from '../../models/watch';
import { DEFAULT_PREFERENCES } from '../../tokens';
import { until } from '../async';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  TARGETS
} from '../fakeLake';

/**
 * The "make available" requests: the rule is created here, its progress
 * comes from the watch model's bulk poll (a real one, on the fake lake).
 */
describe('TransfersModel', () => {
  let lake: FakeLake;
  let watch: WatchModel;
  let transfers: TransfersModel;

  beforeEach(() => {
    lake = new FakeLake();
    const api = new DataLakeAPI(lake.settings);
    watch = new WatchModel({
      api,
      preferences: () => ({
        ...DEFAULT_PREFERENCES,
        pollInterval: 30,
        transferPollInterval: 5
      }),
      isPanelVisible: () => true
    });
    transfers = new TransfersModel({ api, watch });
  });

  afterEach(() => {
    transfers.dispose();
    watch.dispose();
  });

  const did = 'ska:AA05_quicklook_0001';
  const notebook = TARGETS[0];

  function states(transfer: ITransfer[]): string[] {
    return transfer.map(one => one.state);
  }

  it('creates the rule, follows it through the bulk poll, and ends with the local paths', async () => {
    const seen: ITransfer[] = [];
    transfers.transferChanged.connect((_, transfer) =>
      seen.push({ ...transfer })
    );
    lake.states.set(did, availability(did, 'REPLICATING', { total: 1 }, 4096));
    lake.paths.set(did, {
      'ska:AA05_quicklook_0001.fits':
        '/lake/rses/notebook-local/ska/64/25/AA05_quicklook_0001.fits'
    });

    const transfer = await transfers.start({
      instance: INSTANCE,
      did,
      target: notebook,
      lifetimeDays: 3
    });
    expect(await lake.bodies('POST rules')).toEqual([
      { did, target: 'notebook', lifetime_days: 3 }
    ]);
    expect(transfer.state).toBe('in-progress');
    expect(transfer.availability?.state).toBe('REPLICATING');
    expect(watch.has(INSTANCE, did)).toBe(true);

    lake.states.set(did, availability(did, 'AVAILABLE', { total: 1 }, 4096));
    await watch.refresh();
    await until(() => transfer.paths !== null, 'the paths');

    expect(transfer.state).toBe('done');
    expect(transfer.paths?.directory).toBe(
      '/lake/rses/notebook-local/ska/64/25'
    );
    expect(states(seen)).toEqual([
      'requesting',
      'in-progress',
      'in-progress',
      'done'
    ]);
    // One bulk request per check, never per DID; paths read once.
    expect(lake.count('GET did/paths')).toBe(1);
    expect(watch.isActive).toBe(false);
  });

  it.each([
    [
      403,
      'cta:LST1_run7801_DL3: Permission denied to make cta:LST1_run7801_DL3 available: Account alice can not add replication rule. embargoed until 2027-11-23',
      'permission_denied'
    ],
    [
      422,
      "Cannot make lofar:L2023_712399_HBA_raw available: your storage quota is exceeded. Rucio says: There is insufficient quota on any of the target RSE's to fulfill the operation.",
      'quota_exceeded'
    ]
  ])(
    'fails with the server message on HTTP %p',
    async (status, message, reason) => {
      lake.overrides.set('POST rules', () =>
        errorResponse(status, message, reason)
      );
      const transfer = await transfers.start({
        instance: INSTANCE,
        did: 'cta:x',
        target: TARGETS[1],
        lifetimeDays: 1
      });
      expect(transfer.state).toBe('failed');
      expect(transfer.error?.message).toBe(message);
      expect(transfer.error?.status).toBe(status);
      expect(watch.has(INSTANCE, 'cta:x')).toBe(false);
    }
  );

  it("fails with Rucio's reason when the transfer gets stuck", async () => {
    const transfer = await transfers.start({
      instance: INSTANCE,
      did,
      target: notebook,
      lifetimeDays: 1
    });
    lake.states.set(
      did,
      availability(did, 'STUCK', { total: 1 }, 4096, 'No source replica')
    );
    await watch.refresh();
    expect(transfer.state).toBe('failed');
    expect(transfer.stuckReason).toBe('No source replica');
  });

  it('follows a rule to a QoS class until Rucio says OK', async () => {
    const transfer = await transfers.start({
      instance: INSTANCE,
      did,
      target: TARGETS[2],
      lifetimeDays: 1
    });
    expect(transfer.towardsNotebook).toBe(false);
    expect(transfer.state).toBe('in-progress');
    expect(lake.count('GET rules')).toBe(1);

    const created = lake.rules.get(did)![0];
    lake.rules.set(did, [
      { ...created, state: 'OK', locks: { ok: 1, replicating: 0, stuck: 0 } }
    ]);
    await watch.refresh();
    expect(transfer.state).toBe('done');
    expect(transfer.rule?.state).toBe('OK');
  });

  it('ignores what the watch knew before the rule existed', async () => {
    lake.states.set(
      did,
      availability(did, 'STUCK', { total: 1 }, 4096, 'old failure')
    );
    watch.watch(INSTANCE, did);
    await watch.refresh();
    lake.states.set(did, availability(did, 'REPLICATING', { total: 1 }, 4096));
    const transfer = await transfers.start({
      instance: INSTANCE,
      did,
      target: notebook,
      lifetimeDays: 1
    });
    expect(transfer.state).toBe('in-progress');
    expect(transfer.stuckReason).toBeNull();
  });

  it('finds the latest transfer of a DID, and tells each failure to the owner', async () => {
    const failures: number[] = [];
    const api = new DataLakeAPI(lake.settings);
    const told = new TransfersModel({
      api,
      watch,
      onError: (_, error) => failures.push(error.status)
    });
    lake.overrides.set('POST rules', () =>
      errorResponse(403, 'Permission denied', 'permission_denied')
    );
    const first = await told.start({
      instance: INSTANCE,
      did: 'cta:x',
      target: TARGETS[1],
      lifetimeDays: 1
    });
    const second = await told.start({
      instance: INSTANCE,
      did: 'cta:x',
      target: TARGETS[2],
      lifetimeDays: 1
    });
    expect(failures).toEqual([403, 403]);
    expect(told.find(INSTANCE, 'cta:x')).toBe(second);
    expect(told.transfers).toEqual([first, second]);
    expect(told.find(INSTANCE, 'cta:y')).toBeUndefined();
    told.dispose();
  });
});
