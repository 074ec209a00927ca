import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { SearchModel } from '../../models/search';
import { validDraft } from '../../models/searchDraft';
import { flush, until } from '../async';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  searchItem
} from '../fakeLake';
import { jsonResponse } from '../fakeServer';

describe('SearchModel', () => {
  let lake: FakeLake;
  let search: SearchModel;
  let errors: DataLakeRequestError[];

  beforeEach(() => {
    lake = new FakeLake();
    errors = [];
    search = new SearchModel({
      api: new DataLakeAPI(lake.settings),
      instance: () => INSTANCE,
      pageSize: () => 2,
      onError: (_, error) => errors.push(error)
    });
  });

  afterEach(() => {
    search.dispose();
  });

  it('sends the form as one query and pages in with the cursor', async () => {
    search.setPattern('L2023*');
    search.setScope('lofar');
    search.setType('dataset');
    search.setFilterText('telescope=lofar,energy>140;telescope=ska');
    await search.run();

    const [query] = lake.queries('GET search');
    expect(query.get('q')).toBe('L2023*');
    expect(query.get('scope')).toBe('lofar');
    expect(query.get('type')).toBe('dataset');
    expect(query.get('page_size')).toBe('2');
    expect(JSON.parse(query.get('filters')!)).toEqual([
      [
        { key: 'telescope', op: '=', value: 'lofar' },
        { key: 'energy', op: '>', value: 140 }
      ],
      [{ key: 'telescope', op: '=', value: 'ska' }]
    ]);
    expect(search.items.map(item => item.did)).toEqual([
      'lofar:L2023_712342_HBA',
      'lofar:L2023_712343_HBA'
    ]);
    expect(search.hasMore).toBe(true);

    await search.loadMore();
    expect(lake.queries('GET search')[1].get('cursor')).toBe('2');
    expect(search.items).toHaveLength(3);
    expect(search.hasMore).toBe(false);
    // Nothing more to load: no request.
    await search.loadMore();
    expect(lake.count('GET search')).toBe(2);
    // Kinds of keys were learnt from the results.
    expect(search.keyKinds).toMatchObject({
      energy: 'number',
      obs_date: 'date'
    });
  });

  it('shows the names at once, then describes the page in one request', async () => {
    const available = 'lofar:L2023_712343_HBA';
    let release: () => void = () => undefined;
    lake.overrides.set('POST describe', async () => {
      await new Promise<void>(resolve => (release = resolve));
      return jsonResponse({
        items: [
          searchItem('lofar:L2023_712342_HBA'),
          searchItem(available, {
            availability: availability(available, 'AVAILABLE')
          })
        ]
      });
    });
    search.setPattern('L2023*');
    const running = search.run();
    await until(() => search.items.length === 2, 'the names');
    expect(lake.queries('GET search')[0].get('details')).toBe('names');
    expect(search.state).toBe('ready');
    expect(search.items[0].metadata).toBeUndefined();
    expect(search.items[0].availability).toBeUndefined();

    release();
    await running;
    expect(await lake.bodies('POST describe')).toEqual([
      { dids: ['lofar:L2023_712342_HBA', 'lofar:L2023_712343_HBA'] }
    ]);
    expect(search.items.map(item => item.availability?.state)).toEqual([
      'NOT_AVAILABLE',
      'AVAILABLE'
    ]);
    expect(search.items[1].metadata).toMatchObject({
      telescope: 'lofar'
    });
  });

  it('describes a long page in chunks, two at a time, shown as they come', async () => {
    const long = new SearchModel({
      api: new DataLakeAPI(lake.settings),
      instance: () => INSTANCE,
      pageSize: () => 250
    });
    lake.items = Array.from({ length: 250 }, (_, n) =>
      searchItem(`survey:ds_${String(n).padStart(3, '0')}`)
    );
    const waiting: { dids: string[]; release: () => void }[] = [];
    lake.overrides.set('POST describe', async request => {
      const { dids } = (await request.json()) as { dids: string[] };
      await new Promise<void>(resolve =>
        waiting.push({ dids, release: resolve })
      );
      return jsonResponse({
        items: dids.map(did =>
          searchItem(did, { availability: availability(did, 'AVAILABLE') })
        )
      });
    });
    long.setPattern('ds_*');
    const running = long.run();
    await until(() => waiting.length === 2, 'two chunks asked for');
    await flush(20);
    expect(waiting).toHaveLength(2); // no third request while two are under way
    expect(waiting.map(chunk => chunk.dids.length)).toEqual([100, 100]);
    expect(long.items).toHaveLength(250);

    waiting[1].release();
    await until(() => waiting.length === 3, 'the third chunk asked for');
    // the second chunk's rows are described, the others not yet
    expect(long.items[100].availability?.state).toBe('AVAILABLE');
    expect(long.items[0].availability).toBeUndefined();
    expect(waiting[2].dids).toEqual(
      lake.items.slice(200).map(item => item.did)
    );

    waiting[0].release();
    waiting[2].release();
    await running;
    expect(
      long.items.every(item => item.availability?.state === 'AVAILABLE')
    ).toBe(true);
    expect(long.state).toBe('ready');
    long.dispose();
  });

  it('keeps the rows when describing them fails, and says why', async () => {
    lake.overrides.set('POST describe', () =>
      errorResponse(504, 'Rucio did not answer within 30 s', 'timeout')
    );
    search.setPattern('L2023*');
    await search.run();
    expect(search.items.map(item => item.did)).toEqual([
      'lofar:L2023_712342_HBA',
      'lofar:L2023_712343_HBA'
    ]);
    expect(search.state).toBe('error');
    expect(search.error?.message).toBe('Rucio did not answer within 30 s');
  });

  it('does not send an invalid filter, and says why', async () => {
    search.setFilterText('energy>>3');
    await search.run();
    expect(lake.count('GET search')).toBe(0);
    // The same words as escape_dlaas/domain/filters.py: '>>' is named.
    expect(search.filterError).toBe(
      "group 1, condition 1: '>>' is not an operator; use > or >="
    );
  });

  it("shows the server's message when it refuses a search", async () => {
    lake.overrides.set('GET search', () =>
      errorResponse(
        400,
        'type a name pattern (e.g. *.fits) or add a metadata filter',
        'empty_search'
      )
    );
    await search.run();
    expect(search.state).toBe('error');
    expect(search.error?.message).toBe(
      'type a name pattern (e.g. *.fits) or add a metadata filter'
    );
  });

  it('keeps only the latest of overlapping searches', async () => {
    let release: () => void = () => undefined;
    lake.overrides.set('GET search', async () => {
      await new Promise<void>(resolve => (release = resolve));
      return jsonResponse({
        items: [searchItem('old:result')],
        next_cursor: null
      });
    });
    search.setPattern('first*');
    const first = search.run();
    await flush();
    lake.overrides.delete('GET search');
    search.setPattern('second*');
    await search.run();
    release();
    await first;
    expect(search.items.map(item => item.did)).not.toContain('old:result');
    expect(search.state).toBe('ready');
  });

  it('keeps builder and text in sync both ways', async () => {
    search.setFilterText('telescope=lofar,energy>140');
    expect(search.draft.filterRows).toEqual([
      [
        { key: 'telescope', op: '=', value: 'lofar' },
        { key: 'energy', op: '>', value: '140', kind: 'number' }
      ]
    ]);
    search.setFilterRows([
      ...search.draft.filterRows,
      [{ key: 'telescope', op: '=', value: 'ska' }]
    ]);
    expect(search.draft.filterText).toBe(
      'telescope=lofar,energy>140;telescope=ska'
    );
    // A broken text leaves the builder as it was.
    search.setFilterText('telescope=lofar,');
    expect(search.filterError).toMatch(/condition 2/);
    expect(search.draft.filterRows).toHaveLength(2);
  });

  it('tells each failure to the owner, and forgets the results when asked', async () => {
    lake.overrides.set('GET search', () =>
      errorResponse(401, 'Your token expired.', 'credentials_expired')
    );
    search.setPattern('*');
    await search.run();
    expect(errors.map(error => error.status)).toEqual([401]);

    lake.overrides.clear();
    await search.run();
    expect(search.items).toHaveLength(2);
    search.clearResults();
    expect(search.state).toBe('idle');
    expect(search.items).toEqual([]);
    expect(search.query).toBeNull();
    expect(search.hasMore).toBe(false);
  });
  describe('when nothing matches', () => {
    const hints = [
      {
        kind: 'case',
        field: 'filter',
        message:
          "Nothing has telescope = 'LOFAR', but there is data with 'lofar': letter case matters.",
        suggestion: 'telescope=lofar,energy>140'
      },
      {
        kind: 'unknown_key',
        field: 'filter',
        message:
          "This catalogue does not use the metadata key 'colour'. Keys it uses: energy, telescope.",
        suggestion: null
      }
    ];

    beforeEach(() => {
      lake.overrides.set('GET search', (_, url) => {
        const filters = url.searchParams.get('filters') ?? '';
        return filters.includes('LOFAR')
          ? jsonResponse({ items: [], next_cursor: null, hints })
          : jsonResponse({
              items: lake.items.slice(0, 1),
              next_cursor: null,
              hints: []
            });
      });
    });

    it("keeps the server's hints with the empty results", async () => {
      search.setFilterText('telescope=LOFAR,energy>140');
      await search.run();
      expect(search.state).toBe('ready');
      expect(search.items).toEqual([]);
      expect(search.hints).toEqual(hints);
    });

    it("searches for a hint's suggestion: the form shows it, the hints go", async () => {
      search.setFilterText('telescope=LOFAR,energy>140');
      await search.run();
      await search.searchFor(search.hints[0].suggestion!);

      expect(search.draft.filterText).toBe('telescope=lofar,energy>140');
      expect(search.draft.filterRows).toEqual([
        [
          { key: 'telescope', op: '=', value: 'lofar' },
          { key: 'energy', op: '>', value: '140', kind: 'number' }
        ]
      ]);
      const [, second] = lake.queries('GET search');
      expect(JSON.parse(second.get('filters')!)).toEqual([
        [
          { key: 'telescope', op: '=', value: 'lofar' },
          { key: 'energy', op: '>', value: 140 }
        ]
      ]);
      expect(search.items.map(item => item.did)).toEqual([
        'lofar:L2023_712342_HBA'
      ]);
      expect(search.hints).toEqual([]);
    });

    it('forgets the hints with the results, and while a new search runs', async () => {
      search.setFilterText('telescope=LOFAR');
      await search.run();
      expect(search.hints).toHaveLength(2);
      search.clearResults();
      expect(search.hints).toEqual([]);

      await search.run();
      expect(search.hints).toHaveLength(2);
      const running = search.run();
      expect(search.state).toBe('loading');
      expect(search.hints).toEqual([]);
      await running;
    });
  });

  describe("a refused search's error", () => {
    function refuse(
      status: number,
      message: string,
      reason: string,
      field?: string
    ) {
      lake.overrides.set('GET search', () =>
        errorResponse(status, message, reason, field)
      );
    }

    it('goes when the part of the form it is about is edited', async () => {
      refuse(
        400,
        "group 1, condition 1: the value for 'a' contains an invisible character (U+200B)",
        'invalid_filter',
        'filters'
      );
      search.setPattern('L2023*');
      search.setFilterText('telescope=lofar');
      await search.run();
      expect(search.error?.field).toBe('filters');

      // Other parts: the refusal still holds.
      search.setPattern('L2024*');
      search.setType('dataset');
      search.setBuilderOpen(true);
      expect(search.state).toBe('error');
      expect(search.error).not.toBeNull();

      search.setFilterText('telescope=ska');
      expect(search.error).toBeNull();
      expect(search.state).toBe('idle');
    });

    it('goes with an edit of the builder too', async () => {
      refuse(400, 'bad filter', 'invalid_filter', 'filters');
      search.setFilterText('telescope=lofar');
      await search.run();
      search.setFilterRows([[{ key: 'telescope', op: '=', value: 'ska' }]]);
      expect(search.error).toBeNull();
    });

    it('about the name pattern goes when the pattern is edited', async () => {
      refuse(
        400,
        "'::' is not a valid search: the pattern (after ':') is empty",
        'invalid_pattern',
        'q'
      );
      search.setPattern('::');
      await search.run();
      search.setFilterText('telescope=lofar');
      expect(search.error).not.toBeNull();
      search.setPattern('lofar:*');
      expect(search.error).toBeNull();
    });

    it('of an empty search goes with a pattern or a filter', async () => {
      refuse(
        400,
        'type a name pattern (e.g. *.fits) or add a metadata filter',
        'empty_search',
        'q'
      );
      await search.run();
      search.setFilterText('telescope=lofar');
      expect(search.error).toBeNull();
    });

    it('of a service stays until the next search, which clears it', async () => {
      refuse(
        503,
        'Rucio is not answering; try again in a minute.',
        'service_unavailable'
      );
      search.setPattern('L2023*');
      await search.run();
      search.setPattern('L2024*');
      search.setFilterText('energy>1');
      expect(search.error?.status).toBe(503);

      lake.overrides.clear();
      const running = search.run();
      expect(search.error).toBeNull();
      await running;
      expect(search.error).toBeNull();
      expect(search.state).toBe('ready');
      expect(search.items.length).toBeGreaterThan(0);
    });

    it('is not left above a search the filter keeps from starting', async () => {
      refuse(
        503,
        'Rucio is not answering; try again in a minute.',
        'service_unavailable'
      );
      search.setPattern('L2023*');
      await search.run();
      expect(search.state).toBe('error');

      search.setFilterText('energy>>3');
      await search.run();
      expect(lake.count('GET search')).toBe(1);
      expect(search.error).toBeNull();
      expect(search.state).toBe('idle');
      expect(search.filterError).toBe(
        "group 1, condition 1: '>>' is not an operator; use > or >="
      );
    });

    it('of describing a page goes with the next search; the rows it left stay until then', async () => {
      lake.overrides.set('POST describe', () =>
        errorResponse(504, 'Rucio did not answer within 30 s', 'timeout')
      );
      search.setPattern('L2023*');
      await search.run();
      expect(search.state).toBe('error');
      expect(search.items).toHaveLength(2);

      lake.overrides.clear();
      await search.run();
      expect(search.error).toBeNull();
      expect(search.state).toBe('ready');
    });
  });
});

describe('validDraft', () => {
  it('keeps only the parts of a saved form that have the right types', () => {
    expect(
      validDraft({
        pattern: 'L2023*',
        scope: 3,
        type: 'bad',
        filterText: 'energy>140',
        builderOpen: 'yes'
      } as never)
    ).toEqual({ pattern: 'L2023*', filterText: 'energy>140' });
    expect(
      validDraft({ scope: 'lofar', type: 'dataset', builderOpen: true })
    ).toEqual({ scope: 'lofar', type: 'dataset', builderOpen: true });
  });
});
