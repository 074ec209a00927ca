import { IBasket, IBasketItem } from '../../api/types';
import { DataLakeAPI } from '../../api/client';
import { BasketModel } from '../../basket/model';
import { DataLakeModel } from '../../models/datalake';
import { until } from '../async';
import { availability, errorResponse, TARGETS } from '../fakeLake';
import { FakeJupyterServer, jsonResponse, makeStatus } from '../fakeServer';

const ROOT = '/user/alice/escape-dlaas/';

function rucioItem(
  index: number,
  did: string,
  overrides: Partial<IBasketItem> = {}
): IBasketItem {
  return {
    index,
    kind: 'rucio',
    archive: 'rucio',
    did,
    label: did.split(':')[1],
    problem: null,
    record: null,
    found: true,
    type: 'DATASET',
    bytes: 1000,
    length: 2,
    metadata: {},
    availability: availability(did, 'NOT_AVAILABLE', { total: 2 }, 1000),
    embargo: null,
    ...overrides
  };
}

function basketOf(items: IBasketItem[]): IBasket {
  return {
    enabled: true,
    source: {
      kind: 'esap',
      location: 'https://esap/esap-api/accounts/user-profiles/'
    },
    note: null,
    instance: 'local-lake',
    items,
    counts: { rucio: 0, other: 0, malformed: 0 },
    total_bytes: 0,
    movable: 0,
    bytes_to_move: 0,
    unknown_sizes: 0
  };
}

describe('BasketModel', () => {
  let lake: DataLakeModel;
  let basket: BasketModel;
  let answer: () => Response;
  let server: FakeJupyterServer;

  beforeEach(async () => {
    answer = () => jsonResponse(basketOf([]));
    server = new FakeJupyterServer(async request => {
      const path = new URL(request.url).pathname;
      if (path === `${ROOT}status`) {
        return jsonResponse(makeStatus());
      }
      if (path === `${ROOT}basket`) {
        return answer();
      }
      if (path.endsWith('/rses')) {
        return jsonResponse({ rses: [], targets: TARGETS });
      }
      if (path.endsWith('/availability')) {
        const body = JSON.parse(await request.text()) as { dids: string[] };
        return jsonResponse({
          items: body.dids.map(did => availability(did, 'NOT_AVAILABLE'))
        });
      }
      if (path.endsWith('/rules') && request.method === 'POST') {
        return errorResponse(
          403,
          'embargoed until 2999-01-01',
          'permission_denied'
        );
      }
      return errorResponse(404, `no route ${path}`, 'not_found');
    });
    lake = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: server.settings,
      preferences: { pollInterval: 3600 }
    });
    await lake.refresh();
    basket = new BasketModel({ api: new DataLakeAPI(server.settings), lake });
  });

  afterEach(() => {
    basket.dispose();
    lake.dispose();
  });

  it('loads the basket for the panel instance and watches its known Rucio items', async () => {
    const other: IBasketItem = {
      index: 1,
      kind: 'other',
      archive: 'apertif',
      did: null,
      label: 'WSRTA1',
      problem: null,
      record: null
    };
    answer = () =>
      jsonResponse(
        basketOf([
          rucioItem(0, 'ska:AA05'),
          other,
          rucioItem(2, 'ska:gone', { found: false, problem: 'unknown' })
        ])
      );
    expect(basket.state).toBe('idle');
    await basket.load();

    expect(basket.state).toBe('ready');
    const asked = server.requests.find(r => r.url.includes('/basket'))!;
    expect(new URL(asked.url).searchParams.get('instance')).toBe('local-lake');
    expect(lake.watch.has('local-lake', 'ska:AA05')).toBe(true);
    expect(lake.watch.has('local-lake', 'ska:gone')).toBe(false);
    expect(basket.basket!.items.map(item => item.kind)).toEqual([
      'rucio',
      'other',
      'rucio'
    ]);
  });

  it('totals what make-all would copy, leaving out embargoed, unknown and available data', async () => {
    answer = () =>
      jsonResponse(
        basketOf([
          rucioItem(0, 'ska:half', {
            availability: availability(
              'ska:half',
              'PARTIAL',
              { total: 2, at_notebook: 1 },
              1000
            )
          }),
          rucioItem(1, 'ska:there', {
            availability: availability(
              'ska:there',
              'AVAILABLE',
              { total: 2 },
              1000
            )
          }),
          rucioItem(2, 'ska:secret', {
            embargo: { did: 'ska:secret', until: '2999-01-01' }
          }),
          rucioItem(3, 'ska:open', { bytes: null })
        ])
      );
    await basket.load();

    const totals = basket.totals;
    expect(totals.count).toBe(3);
    expect(totals.pending.map(entry => entry.did)).toEqual([
      'ska:half',
      'ska:open'
    ]);
    expect(totals.bytesToCopy).toBe(500);
    expect(totals.unknownSizes).toBe(1);
  });

  it('explains an unreachable ESAP and keeps the panel model working', async () => {
    answer = () =>
      jsonResponse(
        {
          message:
            'ESAP cannot be reached at http://esap/; the rest of the Data Lake panel works without it.',
          reason: 'service_unreachable',
          service: 'ESAP'
        },
        503
      );
    await basket.load();

    expect(basket.state).toBe('error');
    expect(basket.error?.message).toContain('ESAP cannot be reached');
    expect(basket.error?.service).toBe('ESAP');
    expect(lake.connectionState).toBe('ready');

    answer = () => jsonResponse(basketOf([rucioItem(0, 'ska:AA05')]));
    await basket.load();
    expect(basket.state).toBe('ready');
    expect(basket.error).toBeNull();
  });

  it('asks for one rule per pending DID through the panel make-available flow', async () => {
    answer = () =>
      jsonResponse(
        basketOf([rucioItem(0, 'ska:AA05'), rucioItem(1, 'ska:AA06')])
      );
    await basket.load();

    const outcome = await basket.makeAllAvailable(TARGETS[0], 7);

    // Refusals (here Rucio's embargo) reach the user through the transfer notifications.
    expect(outcome.started).toEqual([]);
    expect(outcome.failed).toEqual([
      { did: 'ska:AA05', message: 'embargoed until 2999-01-01' },
      { did: 'ska:AA06', message: 'embargoed until 2999-01-01' }
    ]);
    const posts = () =>
      server.requests.filter(
        r => r.method === 'POST' && r.url.includes('/rules')
      );
    await until(() => posts().length === 2, 'two rule requests');
    expect(posts()).toHaveLength(2);
  });
});
