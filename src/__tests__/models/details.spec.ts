import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { DataLakeModel } from '../../models/datalake';
import { DetailsModel, FILES_PAGE_SIZE } from '../../models/details';
import { errorResponse, FakeLake, INSTANCE, rule } from '../fakeLake';

describe('DetailsModel', () => {
  const did = 'lofar:L2023_712342_HBA';
  let lake: FakeLake;
  let details: DetailsModel;
  let errors: DataLakeRequestError[];
  let successes: string[];

  beforeEach(() => {
    lake = new FakeLake();
    errors = [];
    successes = [];
    details = new DetailsModel({
      api: new DataLakeAPI(lake.settings),
      onError: (_, error) => errors.push(error),
      onSuccess: instance => successes.push(instance)
    });
  });

  afterEach(() => {
    details.dispose();
  });

  it('loads metadata, rules and the first page of files, then more files', async () => {
    lake.rules.set(did, [
      rule({
        did,
        account: 'root',
        rse_expression: 'ESCAPE-SAFE',
        state: 'OK'
      })
    ]);
    lake.files.set(
      did,
      Array.from({ length: 60 }, (_, i) => ({
        did: `lofar:file_${i}`,
        bytes: 100,
        state: 'ELSEWHERE',
        reason: null,
        replicas: [
          { rse: 'ESCAPE-SAFE', state: 'AVAILABLE', qos_class: 'SAFE' }
        ],
        local_path: null
      }))
    );
    await details.open(INSTANCE, did);
    expect(details.did).toBe(did);
    expect(details.details?.metadata).toMatchObject({
      doi: '10.5072/escape.lofar.712342'
    });
    expect(details.details?.rules).toHaveLength(1);
    expect(details.files).toHaveLength(50);
    expect(details.hasMoreFiles).toBe(true);

    await details.loadMoreFiles();
    expect(details.files).toHaveLength(60);
    expect(details.hasMoreFiles).toBe(false);

    details.close();
    expect(details.did).toBeNull();
    expect(details.files).toEqual([]);
  });

  it('shows why a DID cannot be read', async () => {
    await details.open(INSTANCE, 'lofar:nope');
    expect(details.state).toBe('error');
    expect(details.error?.message).toBe(
      'Cannot read lofar:nope: Rucio does not know it.'
    );
  });

  it('tells the owner how the calls went', async () => {
    await details.open(INSTANCE, did);
    expect(successes).toEqual([INSTANCE]);
    await details.open(INSTANCE, 'lofar:nope');
    expect(errors.map(error => error.status)).toEqual([404]);
  });

  it('asks for the files a page at a time, and keeps what it shows while refreshing', async () => {
    await details.open(INSTANCE, did);
    expect(lake.queries('GET did/files')[0].get('page_size')).toBe(
      String(FILES_PAGE_SIZE)
    );
    const shown = details.details;
    const refreshing = details.refresh();
    expect(details.state).toBe('loading');
    expect(details.details).toBe(shown);
    await refreshing;
    expect(details.state).toBe('ready');
    expect(lake.count('GET did')).toBe(2);
  });
});

describe('rules shown in the details, on a lake that refuses to extend or cancel them', () => {
  const did = 'lofar:L2023_712342_HBA';
  const refusal =
    'This data lake does not let users extend rules; the rule ends on 2026-11-30 12:00 UTC.';
  let lake: FakeLake;
  let model: DataLakeModel;

  beforeEach(async () => {
    lake = new FakeLake();
    lake.rules.set(did, [rule({ did, can_extend: true, can_cancel: true })]);
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings
    });
    await model.refresh();
    await model.openDetails(did, INSTANCE);
  });

  afterEach(() => model.dispose());

  it.each([
    ['extend', 'PUT rules/{id}', 'can_extend'],
    ['cancel', 'DELETE rules/{id}', 'can_cancel']
  ] as const)(
    'fetches the details again after a refused %s (the rule then says it cannot), with the server message',
    async (action, route, field) => {
      lake.overrides.set(route, () => {
        // Once refused, the server knows: the rule says so from then on.
        lake.rules.set(did, [rule({ did, [field]: false })]);
        return errorResponse(403, refusal, 'permission_denied');
      });
      const before = lake.count('GET did');
      const asked =
        action === 'extend'
          ? model.extendRule(rule().id, 7)
          : model.cancelRule(rule().id);
      await expect(asked).rejects.toThrow(refusal);
      expect(lake.count('GET did')).toBe(before + 1);
      expect(model.details.details?.rules[0][field]).toBe(false);
    }
  );
});
