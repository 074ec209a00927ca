import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { ITarget } from '../../api/types';
import { CatalogueModel } from '../../models/catalogue';
import { flush } from '../async';
import { errorResponse, FakeLake, INSTANCE, TARGETS } from '../fakeLake';
import { jsonResponse } from '../fakeServer';

describe('CatalogueModel', () => {
  let lake: FakeLake;
  let selected: string | null;
  let preferredTarget: string;
  let errors: DataLakeRequestError[];
  let catalogue: CatalogueModel;

  /** The requests for the three lists. */
  function listCalls(): string[] {
    return lake.calls.filter(call =>
      ['GET scopes', 'GET rses', 'GET metadata-keys'].includes(call)
    );
  }

  beforeEach(() => {
    lake = new FakeLake();
    selected = INSTANCE;
    preferredTarget = '';
    errors = [];
    catalogue = new CatalogueModel({
      api: new DataLakeAPI(lake.settings),
      instance: () => selected,
      preferredTarget: () => preferredTarget,
      onError: (_, error) => errors.push(error)
    });
  });

  afterEach(() => {
    catalogue.dispose();
  });

  it('loads the scopes, targets, storage elements and metadata keys of the selected instance once', async () => {
    const changed = jest.fn();
    catalogue.changed.connect(changed);

    await Promise.all([catalogue.load(), catalogue.load()]);

    expect(catalogue.instance).toBe(INSTANCE);
    expect(catalogue.scopes).toEqual(['cta', 'km3net', 'lofar', 'ska']);
    expect(catalogue.targets).toEqual(TARGETS);
    expect(catalogue.rses?.map(rse => rse.name)).toEqual([
      'ESCAPE-SAFE',
      'NOTEBOOK-LOCAL'
    ]);
    expect(catalogue.metadataKeys).toContain('energy');
    expect(catalogue.error).toBeNull();
    expect(changed).toHaveBeenCalledTimes(1);
    expect(listCalls()).toHaveLength(3);

    await catalogue.load();
    expect(listCalls()).toHaveLength(3);
    await catalogue.load(true);
    expect(listCalls()).toHaveLength(6);
  });

  it('keeps the lists that came, with the first error, and tells the owner', async () => {
    lake.overrides.set('GET scopes', () =>
      errorResponse(401, 'Your token expired.', 'credentials_expired')
    );
    await catalogue.load();
    expect(catalogue.scopes).toBeNull();
    expect(catalogue.targets).toEqual(TARGETS);
    expect(catalogue.error?.message).toBe('Your token expired.');
    expect(errors.map(error => error.status)).toEqual([401]);

    // Incomplete: the next load asks again.
    lake.overrides.clear();
    await catalogue.load();
    expect(catalogue.scopes).toEqual(['cta', 'km3net', 'lofar', 'ska']);
    expect(catalogue.error).toBeNull();
  });

  it('loads nothing without an instance, and drops lists of an instance no longer selected', async () => {
    selected = null;
    await catalogue.load();
    expect(lake.calls).toEqual([]);

    selected = INSTANCE;
    let answer: () => void = () => undefined;
    lake.overrides.set('GET scopes', async () => {
      await new Promise<void>(resolve => (answer = resolve));
      return jsonResponse({ scopes: ['old'] });
    });
    const loading = catalogue.load();
    await flush();
    selected = 'cern';
    answer();
    await loading;
    expect(catalogue.instance).toBeNull();
    expect(catalogue.scopes).toBeNull();
  });

  it('forgets the lists when cleared', async () => {
    await catalogue.load();
    catalogue.clear();
    expect(catalogue.instance).toBeNull();
    expect(catalogue.targets).toBeNull();
    expect(catalogue.defaultTarget).toBeNull();
  });

  it('proposes the preferred target (by id or RSE expression), else notebook-local, else the first', async () => {
    await catalogue.load();
    expect(catalogue.defaultTarget?.id).toBe('notebook');
    preferredTarget = 'SAFE';
    expect(catalogue.defaultTarget?.id).toBe('SAFE');
    preferredTarget = 'QOS=CHEAP';
    expect(catalogue.defaultTarget?.id).toBe('CHEAP');
    preferredTarget = 'nowhere';
    expect(catalogue.defaultTarget?.id).toBe('notebook');

    const withoutNotebook: ITarget[] = TARGETS.slice(1);
    lake.overrides.set('GET rses', () =>
      jsonResponse({ rses: [], targets: withoutNotebook })
    );
    await catalogue.load(true);
    expect(catalogue.defaultTarget?.id).toBe('CHEAP');
  });
});
