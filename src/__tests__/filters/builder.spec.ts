import {
  groupsToRows,
  IFilterRow,
  inferKeyKinds,
  isIsoDate,
  rowsToGroups
} from '../../filters/builder';
import { formatFilterString, parseFilterString } from '../../filters/text';

describe('filter builder rows', () => {
  const row = (
    key: string,
    op: IFilterRow['op'],
    value: string,
    kind?: IFilterRow['kind']
  ): IFilterRow => (kind ? { key, op, value, kind } : { key, op, value });

  it('turns rows into conditions, typing values as they read, skipping blank rows', () => {
    expect(
      rowsToGroups([
        [
          row('telescope', '=', 'lofar'),
          row('energy', '>', '140'),
          row('', '=', '')
        ],
        [row('', '=', '')],
        [row('telescope', '=', 'ska')]
      ])
    ).toEqual([
      [
        { key: 'telescope', op: '=', value: 'lofar' },
        { key: 'energy', op: '>', value: 140 }
      ],
      [{ key: 'telescope', op: '=', value: 'ska' }]
    ]);
  });

  it('types values by the kind of their key: text stays text, numbers must be numbers', () => {
    const kinds = { run: 'number', target: 'text', obs_date: 'date' } as const;
    expect(
      rowsToGroups(
        [
          [
            row('target', '=', '150'),
            row('run', '>=', '712342'),
            row('obs_date', '<', '2023-06-01')
          ]
        ],
        kinds
      )
    ).toEqual([
      [
        { key: 'target', op: '=', value: '150' },
        { key: 'run', op: '>=', value: 712342 },
        { key: 'obs_date', op: '<', value: '2023-06-01' }
      ]
    ]);
    expect(() => rowsToGroups([[row('run', '=', 'abc')]], kinds)).toThrow(
      "group 1, condition 1: the value for 'run' must be a number (got 'abc')"
    );
  });

  it('reports invalid rows with the same messages as the text form', () => {
    expect(() =>
      rowsToGroups([[row('energy', '>', '1'), row('energy', '>', '2')]])
    ).toThrow(
      "group 1: 'energy >' appears twice; Rucio accepts each key and operator once per group"
    );
    expect(() => rowsToGroups([[row('bad key', '=', '1')]])).toThrow(
      "'bad key' is not a valid metadata key"
    );
  });

  it('round-trips text → rows → text, keeping strings that look like numbers as strings', () => {
    for (const text of [
      'telescope=lofar,energy>140;telescope=ska',
      'label="150",flag=false,ratio<=0.25',
      'target="a,b",obs_date>=2023-01-01'
    ]) {
      const rows = groupsToRows(parseFilterString(text));
      expect(formatFilterString(rowsToGroups(rows))).toBe(text);
    }
    const rows = groupsToRows(parseFilterString('label="150",energy>150'));
    expect(rows[0][0]).toEqual({
      key: 'label',
      op: '=',
      value: '150',
      kind: 'text'
    });
    expect(rows[0][1]).toEqual({
      key: 'energy',
      op: '>',
      value: '150',
      kind: 'number'
    });
  });
});

describe('inferKeyKinds', () => {
  it('learns numbers, dates, booleans and text from the metadata of results', () => {
    expect(
      inferKeyKinds([
        {
          energy: 150,
          obs_date: '2023-05-19',
          target: 'ELAIS-N1',
          public: true,
          doi: null
        },
        {
          energy: 170.5,
          obs_date: '2023-06-02T10:00:00',
          target: '150',
          public: false
        }
      ])
    ).toEqual({
      energy: 'number',
      obs_date: 'date',
      target: 'text',
      public: 'boolean'
    });
  });

  it('falls back to text when values disagree, also with what was known', () => {
    expect(inferKeyKinds([{ run: 1 }, { run: 'r1' }])).toEqual({ run: 'text' });
    expect(inferKeyKinds([{ run: 'r1' }], { run: 'number' })).toEqual({
      run: 'text'
    });
    expect(inferKeyKinds([], { run: 'number' })).toEqual({ run: 'number' });
  });

  it('recognises ISO dates only', () => {
    expect(isIsoDate('2023-09-01')).toBe(true);
    expect(isIsoDate('2023-09-01T12:30:00Z')).toBe(true);
    expect(isIsoDate('2023-13-45')).toBe(false);
    expect(isIsoDate('01/09/2023')).toBe(false);
  });
});
