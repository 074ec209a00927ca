import { DataLakeRequestError } from '../../api/request';
import { FilterError } from '../../filters/conditions';
import {
  draftQuery,
  EMPTY_DRAFT,
  isStaleRefusal,
  rowsOfFilterText,
  textOfFilterRows
} from '../../models/searchDraft';

describe('the search draft', () => {
  it('stands for a query: the pattern trimmed, the builder rows as the filter', () => {
    expect(
      draftQuery(
        {
          ...EMPTY_DRAFT,
          pattern: ' L2023* ',
          scope: 'lofar',
          filterRows: [[{ key: 'freq', op: '>', value: '150' }]]
        },
        {}
      )
    ).toEqual({
      pattern: 'L2023*',
      scope: 'lofar',
      type: 'all',
      filters: [[{ key: 'freq', op: '>', value: 150 }]]
    });
    expect(draftQuery(EMPTY_DRAFT, {}).filters).toEqual([]);
  });

  it('refuses a half-filled condition', () => {
    expect(() =>
      draftQuery(
        { ...EMPTY_DRAFT, filterRows: [[{ key: 'freq', op: '=', value: '' }]] },
        {}
      )
    ).toThrow(FilterError);
  });

  it('keeps the filter text and the builder rows of each other', () => {
    const rows = rowsOfFilterText('freq>150,telescope=LOFAR');
    expect(rows).toHaveLength(1);
    expect(textOfFilterRows(rows, {})).toBe('freq>150,telescope=LOFAR');
    expect(rowsOfFilterText('')).toEqual([[{ key: '', op: '=', value: '' }]]);
  });

  it('makes a refusal stale when an edit touches the part it was about', () => {
    const scope = new DataLakeRequestError('No scope x.', 400, 'bad', 'scope');
    const edited = (change: object) => ({ ...EMPTY_DRAFT, ...change });

    expect(isStaleRefusal(scope, EMPTY_DRAFT, edited({ scope: 'ska' }))).toBe(
      true
    );
    // "scope:pattern" typed in the name box sets the scope too.
    expect(
      isStaleRefusal(scope, EMPTY_DRAFT, edited({ pattern: 'ska:*' }))
    ).toBe(true);
    expect(isStaleRefusal(scope, EMPTY_DRAFT, edited({ type: 'file' }))).toBe(
      false
    );
    expect(
      isStaleRefusal(scope, EMPTY_DRAFT, edited({ builderOpen: true }))
    ).toBe(false);

    const anyPart = new DataLakeRequestError('Bad search.', 422, 'bad');
    expect(isStaleRefusal(anyPart, EMPTY_DRAFT, edited({ type: 'file' }))).toBe(
      true
    );
    // A failure of the server is not about what was typed.
    const down = new DataLakeRequestError(
      'Rucio is down.',
      503,
      'down',
      'scope'
    );
    expect(isStaleRefusal(down, EMPTY_DRAFT, edited({ scope: 'ska' }))).toBe(
      false
    );
  });
});
