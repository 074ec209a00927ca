import { FilterError, FilterGroups, OPERATORS } from '../../filters/conditions';
import {
  formatFilterString,
  formatValue,
  parseFilterString,
  parseValue
} from '../../filters/text';

describe('parseValue', () => {
  it.each([
    ['lofar', 'lofar'],
    ['  lofar  ', 'lofar'],
    ['140', 140],
    ['-3', -3],
    ['+5', 5],
    ['1.5', 1.5],
    ['1.', 1],
    ['.5', 0.5],
    ['1e3', 1000],
    ['true', true],
    ['FALSE', false],
    ['"140"', '140'],
    ["'true'", 'true'],
    ['"a,b"', 'a,b'],
    ['2023-09-01', '2023-09-01'],
    ['ELAIS-N1', 'ELAIS-N1'],
    ["O'Brien", "O'Brien"],
    ['"unclosed', '"unclosed'],
    ['inf', 'inf'],
    ['NaN', 'NaN']
  ])('reads %p as %p', (text, value) => {
    expect(parseValue(text)).toEqual(value);
  });
});

describe('formatValue', () => {
  it.each([
    ['lofar', 'lofar'],
    [140, '140'],
    [1.5, '1.5'],
    [true, 'true'],
    ['140', '"140"'],
    ['true', '"true"'],
    ['a,b', '"a,b"'],
    ['x=y', '"x=y"'],
    [' padded', '" padded"'],
    ['say "hi"', `'say "hi"'`],
    ['HBA 110-190 MHz', 'HBA 110-190 MHz']
  ])('writes %p as %p', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });
});

describe('parseFilterString', () => {
  it('reads AND with "," and OR with ";"', () => {
    expect(
      parseFilterString('telescope=lofar,energy>140;telescope=ska')
    ).toEqual([
      [
        { key: 'telescope', op: '=', value: 'lofar' },
        { key: 'energy', op: '>', value: 140 }
      ],
      [{ key: 'telescope', op: '=', value: 'ska' }]
    ]);
  });

  it('reads every operator, "==" as "=", and spaces around parts', () => {
    expect(
      parseFilterString(' a = 1 , b != x , c<2 , d<=3 , e>4 , f>=5 , g==y ')
    ).toEqual([
      [
        { key: 'a', op: '=', value: 1 },
        { key: 'b', op: '!=', value: 'x' },
        { key: 'c', op: '<', value: 2 },
        { key: 'd', op: '<=', value: 3 },
        { key: 'e', op: '>', value: 4 },
        { key: 'f', op: '>=', value: 5 },
        { key: 'g', op: '=', value: 'y' }
      ]
    ]);
  });

  it('reads ranges as two conditions and a reversed comparison as its mirror', () => {
    expect(parseFilterString('2<energy<5;3<=energy;10>run')).toEqual([
      [
        { key: 'energy', op: '>', value: 2 },
        { key: 'energy', op: '<', value: 5 }
      ],
      [{ key: 'energy', op: '>=', value: 3 }],
      [{ key: 'run', op: '<', value: 10 }]
    ]);
    expect(parseFilterString('5>energy>=2')).toEqual([
      [
        { key: 'energy', op: '<', value: 5 },
        { key: 'energy', op: '>=', value: 2 }
      ]
    ]);
  });

  it('keeps ISO dates as strings (the KM3NeT calibration lookup)', () => {
    expect(
      parseFilterString(
        'telescope=km3net,data_level=calibration,valid_from<=2023-09-01,valid_to>=2023-09-01'
      )
    ).toEqual([
      [
        { key: 'telescope', op: '=', value: 'km3net' },
        { key: 'data_level', op: '=', value: 'calibration' },
        { key: 'valid_from', op: '<=', value: '2023-09-01' },
        { key: 'valid_to', op: '>=', value: '2023-09-01' }
      ]
    ]);
  });

  it('keeps separators and operators inside quoted values', () => {
    expect(parseFilterString("target=\"a,b;c\",note='x>=y',t=O'Brien")).toEqual(
      [
        [
          { key: 'target', op: '=', value: 'a,b;c' },
          { key: 'note', op: '=', value: 'x>=y' },
          { key: 't', op: '=', value: "O'Brien" }
        ]
      ]
    );
  });

  it('reads an empty filter as no condition', () => {
    expect(parseFilterString('')).toEqual([]);
    expect(parseFilterString('   ')).toEqual([]);
  });

  it.each([
    ['a=1;', "OR group 2 is empty (two ';' in a row, or one at the end?)"],
    [
      'energy',
      "group 1, condition 1: 'energy' has no operator; use one of = != < <= > >="
    ],
    [
      'energy=',
      "group 1, condition 1: 'energy=' needs a key, an operator and a value"
    ],
    ['=3', "group 1, condition 1: '=3' needs a key, an operator and a value"],
    [
      '2<energy>5',
      'group 1, condition 1: a range must go one way, e.g. 2<energy<5'
    ],
    ['a=1=2', "group 1, condition 1: cannot read 'a=1=2'"],
    [
      'a=1,a=2',
      "group 1: 'a =' appears twice; Rucio accepts each key and operator once per group"
    ],
    [
      '1abc=3',
      "group 1, condition 1: '1abc' is not a valid metadata key (letters, digits and '_', starting with a letter)"
    ],
    [
      'name=x',
      "group 1, condition 1: 'name' is not a metadata key; use the name pattern and type fields instead"
    ],
    [
      'target>E*',
      "group 1, condition 1: wildcards ('*') work only with = and != (got 'target > E*')"
    ],
    [
      'flag>true',
      'group 1, condition 1: true/false can only be compared with = or !='
    ],
    ['a=""', "group 1, condition 1: the value for 'a' is empty"],
    [
      'a=1,',
      "group 1, condition 2 is empty (two ',' in a row, or one at the end?)"
    ],
    [
      ',a=1',
      "group 1, condition 1 is empty (two ',' in a row, or one at the end?)"
    ],
    [
      '"a"=1',
      `group 1, condition 1: '"a"' is not a valid metadata key (letters, digits and '_', starting with a letter)`
    ]
  ])('explains %p', (text, message) => {
    expect(() => parseFilterString(text)).toThrow(new FilterError(message));
  });

  it('reads the signs ≥ ≤ ≠ (as other Rucio tools write them) as >= <= !=', () => {
    expect(
      parseFilterString('energy≥140,run ≤ 5,telescope≠ska;2≤energy<5')
    ).toEqual([
      [
        { key: 'energy', op: '>=', value: 140 },
        { key: 'run', op: '<=', value: 5 },
        { key: 'telescope', op: '!=', value: 'ska' }
      ],
      [
        { key: 'energy', op: '>=', value: 2 },
        { key: 'energy', op: '<', value: 5 }
      ]
    ]);
    expect(formatFilterString(parseFilterString('energy≥140'))).toBe(
      'energy>=140'
    );
    // A value holding one is written in quotes, and reads back the same.
    expect(formatValue('a≥b')).toBe('"a≥b"');
    expect(parseFilterString('k="a≥b"')).toEqual([
      [{ key: 'k', op: '=', value: 'a≥b' }]
    ]);
  });

  it.each([
    ['energy>>5', "group 1, condition 1: '>>' is not an operator; use > or >="],
    ['energy<<5', "group 1, condition 1: '<<' is not an operator; use < or <="],
    [
      'energy>>>5',
      "group 1, condition 1: '>>' is not an operator; use > or >="
    ],
    ['a=>3', "group 1, condition 1: '=>' is not an operator; use >="],
    ['a=<3', "group 1, condition 1: '=<' is not an operator; use <="],
    ['a<>3', "group 1, condition 1: '<>' is not an operator; use !="],
    ['a><3', "group 1, condition 1: '><' is not an operator; use !="],
    [
      'a≥≥3',
      "group 1, condition 1: '≥≥' is not an operator; use one of = != < <= > >="
    ]
  ])('names the operator in %p', (text, message) => {
    expect(() => parseFilterString(text)).toThrow(new FilterError(message));
  });

  it('names invisible characters, never echoing them', () => {
    expect(() => parseFilterString('a=x\u202ey')).toThrow(
      new FilterError(
        "group 1, condition 1: the value for 'a' contains an invisible right-to-left control character (U+202E)"
      )
    );
    expect(() => parseFilterString('a\u200b=1')).toThrow(
      new FilterError(
        "group 1, condition 1: 'a<U+200B>' is not a valid metadata key: it contains an invisible character (U+200B)"
      )
    );
    expect(() => parseFilterString('a=x\ty')).toThrow(
      new FilterError(
        "group 1, condition 1: the value for 'a' contains a tab (U+0009)"
      )
    );
    expect(() => parseFilterString("a='x\u202e")).toThrow(
      new FilterError(
        "group 1, condition 1: 'a='x<U+202E>' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
      )
    );
  });

  it('shows at most 80 characters of a condition in a message', () => {
    const long = 'k' + '>'.repeat(1) + '"' + 'x'.repeat(100);
    expect(() => parseFilterString(long)).toThrow(
      new FilterError(
        `group 1, condition 1: 'k>"${'x'.repeat(77)}…' has an unbalanced quote ("); put the value between two quotes or write it without quotes`
      )
    );
  });

  it('refuses whole numbers Rucio cannot store, as the server does', () => {
    expect(() => parseFilterString('run=99999999999999999999')).toThrow(
      new FilterError(
        "group 1, condition 1: the value for 'run' is too large: whole numbers go up to 9223372036854775807 (write a larger one as a decimal number, e.g. 1.000e+20)"
      )
    );
    // Sent with an exponent, the server reads these as decimals.
    expect(parseFilterString('run=1e30')).toEqual([
      [{ key: 'run', op: '=', value: 1e30 }]
    ]);
    expect(parseFilterString('run=9007199254740991')).toEqual([
      [{ key: 'run', op: '=', value: 9007199254740991 }]
    ]);
  });

  it('refuses too long filters and too many groups', () => {
    expect(() => parseFilterString('a=' + 'x'.repeat(4000))).toThrow(
      'the filter is longer than 4000 characters'
    );
    expect(() =>
      parseFilterString(
        Array.from({ length: 17 }, (_, i) => `k${i}=1`).join(';')
      )
    ).toThrow('too many OR groups (17); at most 16');
  });
});

describe('formatFilterString', () => {
  it('writes groups back as Rucio text', () => {
    expect(
      formatFilterString([
        [
          { key: 'telescope', op: '=', value: 'lofar' },
          { key: 'energy', op: '>', value: 140 }
        ],
        [{ key: 'telescope', op: '=', value: 'ska' }]
      ])
    ).toBe('telescope=lofar,energy>140;telescope=ska');
  });

  it.each([
    'telescope=lofar,energy>140;telescope=ska',
    'energy>2,energy<5',
    'valid_from<=2023-09-01,valid_to>=2023-09-01',
    'target="a,b;c",run!=712342',
    'flag=true,label="true",code="007"',
    'quote=\'say "hi"\'',
    'target=ELAIS*'
  ])('round-trips %p unchanged', text => {
    expect(formatFilterString(parseFilterString(text))).toBe(text);
  });

  it('normalises what people type', () => {
    expect(
      formatFilterString(parseFilterString(' 2 < energy < 5 ; a==x '))
    ).toBe('energy>2,energy<5;a=x');
  });

  it('round-trips random filters: parse(format(g)) equals g', () => {
    // A small seeded generator (no dependency): reproducible cases.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T =>
      items[Math.floor(random() * items.length)];
    const strings = [
      'lofar',
      'ELAIS-N1',
      'HBA 110-190 MHz',
      'a,b',
      'x;y',
      'p=q',
      '<tag>',
      "it's",
      '"quoted"',
      '150',
      'true',
      '2023-09-01',
      ' padded ',
      'SKA*',
      'ünïcode'
    ];
    for (let n = 0; n < 500; n++) {
      const groups: FilterGroups = [];
      const groupCount = 1 + Math.floor(random() * 3);
      for (let g = 0; g < groupCount; g++) {
        const group = [];
        const used = new Set<string>();
        const conditions = 1 + Math.floor(random() * 4);
        for (let c = 0; c < conditions; c++) {
          const key = pick([
            'telescope',
            'energy',
            'run',
            'obs_date',
            'flag',
            'k_2'
          ]);
          const kind = random();
          let op = pick(OPERATORS);
          let value: string | number | boolean;
          if (kind < 0.4) {
            value = pick(strings);
            if (value.includes('*')) {
              op = pick(['=', '!='] as const);
            }
          } else if (kind < 0.8) {
            value = Math.round((random() - 0.3) * 1e6) / pick([1, 10, 1000]);
          } else {
            value = random() < 0.5;
            op = pick(['=', '!='] as const);
          }
          if (used.has(`${key} ${op}`)) {
            continue;
          }
          used.add(`${key} ${op}`);
          group.push({ key, op, value });
        }
        groups.push(group);
      }
      const text = formatFilterString(groups);
      expect({ text, groups: parseFilterString(text) }).toEqual({
        text,
        groups
      });
    }
  });
});
