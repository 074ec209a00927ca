import { FilterError } from '../../filters/conditions';
import { formatValue, parseFilterString } from '../../filters/text';
import { SPECIAL_CHARACTERS, tokenizeFilter } from '../../filters/tokenizer';

/** Each group's conditions as their parts only. */
function parts(text: string): string[][][] {
  return tokenizeFilter(text).map(group =>
    group.conditions.map(condition => condition.parts)
  );
}

describe('tokenizeFilter', () => {
  it('cuts groups at ";", conditions at ",", and operands at operators, longest first', () => {
    expect(parts(' a = 1 , b!=x;2<energy<=5 ; c==y')).toEqual([
      [
        ['a', '=', '1'],
        ['b', '!=', 'x']
      ],
      [['2', '<', 'energy', '<=', '5']],
      [['c', '==', 'y']]
    ]);
  });

  it('keeps what was typed of each group and condition, for the messages', () => {
    const [first, second] = tokenizeFilter("a = 'x,y' ,b>2; ");
    expect(first.source).toBe("a = 'x,y' ,b>2");
    expect(first.conditions.map(condition => condition.source)).toEqual([
      "a = 'x,y' ",
      'b>2'
    ]);
    expect(second.source).toBe(' ');
  });

  it('leaves empty operands where an operator has nothing on one side', () => {
    expect(parts('energy>>3,=3,a=')).toEqual([
      [
        ['energy', '>', '', '>', '3'],
        ['', '=', '3'],
        ['a', '=', '']
      ]
    ]);
  });

  it('keeps separators and operators inside a quoted value, quotes included', () => {
    expect(parts(`a='x;b=y',c="1<2,3"`)).toEqual([
      [
        ['a', '=', "'x;b=y'"],
        ['c', '=', '"1<2,3"']
      ]
    ]);
  });

  it('writes every special character of formatValue in quotes that it reads as one operand', () => {
    for (const char of SPECIAL_CHARACTERS) {
      const value = `x${char}y`;
      expect(parts(`k=${formatValue(value)}`)).toEqual([
        [['k', '=', formatValue(value)]]
      ]);
      expect(parseFilterString(`k=${formatValue(value)}`)).toEqual([
        [{ key: 'k', op: '=', value }]
      ]);
    }
  });
});

/*
 * The cases where the two scanners of the text form (one cut groups and
 * conditions, the other operators) read the same text differently, and the
 * neighbouring ones. Each states the behaviour chosen for the one tokenizer;
 * each agrees with escape_dlaas/domain/filters.py.
 */
describe('the one tokenizer on edge cases', () => {
  it('lets a value start after a lone "!": a quote there opens a quoted value', () => {
    // The condition scanner used to split inside these quotes ("cannot read").
    expect(parts("k=a!'x=y'")).toEqual([[['k', '=', "a!'x=y'"]]]);
    expect(parts("a=!'x>y'")).toEqual([[['a', '=', "!'x>y'"]]]);
    expect(parts("k=a!'b,c'")).toEqual([[['k', '=', "a!'b,c'"]]]);
    expect(parseFilterString("k=x!,j='a,b'")).toEqual([
      [
        { key: 'k', op: '=', value: 'x!' },
        { key: 'j', op: '=', value: 'a,b' }
      ]
    ]);
  });

  it.each([
    // A value that ends with a quote it does not start with: filters.py refuses it too.
    [
      "k=a!'x=y'",
      "group 1, condition 1: 'k=a!'x=y'' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
    ],
    [
      "a=!'x>y'",
      "group 1, condition 1: 'a=!'x>y'' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
    ],
    [
      "k=a!'b,c'",
      "group 1, condition 1: 'k=a!'b,c'' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
    ],
    [
      "a!'x'",
      "group 1, condition 1: 'a!'x'' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
    ],
    [
      "a!'x,y'=3",
      "group 1, condition 1: 'a!'x,y'=3' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
    ],
    ['a===b', "group 1, condition 1: '===' is not an operator; use ="],
    [
      'a!==b',
      "group 1, condition 1: '!==' is not an operator; use one of = != < <= > >="
    ]
  ])('explains %p', (text, message) => {
    expect(() => parseFilterString(text)).toThrow(new FilterError(message));
  });

  it('reads "==" as one operator, with a quoted value after it', () => {
    expect(parts("a=='x,y'")).toEqual([[['a', '==', "'x,y'"]]]);
    expect(parseFilterString("a=='x,y',b == 2")).toEqual([
      [
        { key: 'a', op: '=', value: 'x,y' },
        { key: 'b', op: '=', value: 2 }
      ]
    ]);
  });

  it('opens quotes next to any operator, on either side', () => {
    expect(parseFilterString(`k!='a,b',l<'2,3',m>="x;y";'a<b'<energy`)).toEqual(
      [
        [
          { key: 'k', op: '!=', value: 'a,b' },
          { key: 'l', op: '<', value: '2,3' },
          { key: 'm', op: '>=', value: 'x;y' }
        ],
        [{ key: 'energy', op: '>', value: 'a<b' }]
      ]
    );
  });

  it('escapes nothing: a backslash is an ordinary character', () => {
    expect(parseFilterString('a="x\\"y"')).toEqual([
      [{ key: 'a', op: '=', value: 'x\\"y' }]
    ]);
    // The quoted value closes after the backslash: what follows has a quote left over.
    expect(parts('a="x\\",b=1"')).toEqual([
      [
        ['a', '=', '"x\\"'],
        ['b', '=', '1"']
      ]
    ]);
    expect(() => parseFilterString('a="x\\",b=1"')).toThrow(
      new FilterError(
        `group 1, condition 2: 'b=1"' has an unbalanced quote ("); put the value between two quotes or write it without quotes`
      )
    );
  });

  it('refuses a quote that is never closed, naming the condition (as the server does)', () => {
    // The scanner keeps the quote as an ordinary character ...
    expect(parts("a='x,b=1")).toEqual([
      [
        ['a', '=', "'x"],
        ['b', '=', '1']
      ]
    ]);
    // ... and the condition says it is unbalanced: never read as two conditions.
    expect(() => parseFilterString("a='x,b=1")).toThrow(
      new FilterError(
        "group 1, condition 1: 'a='x' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
      )
    );
    expect(() => parseFilterString("k='")).toThrow(
      new FilterError(
        "group 1, condition 1: 'k='' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
      )
    );
    expect(() => parseFilterString('a=x"')).toThrow(
      new FilterError(
        `group 1, condition 1: 'a=x"' has an unbalanced quote ("); put the value between two quotes or write it without quotes`
      )
    );
    expect(() => parseFilterString("a=''x")).toThrow(
      new FilterError(
        "group 1, condition 1: 'a=''x' has an unbalanced quote ('); put the value between two quotes or write it without quotes"
      )
    );
  });

  it('reads a quote inside a word as an ordinary character', () => {
    expect(parseFilterString("t=O'Brien,x=1")).toEqual([
      [
        { key: 't', op: '=', value: "O'Brien" },
        { key: 'x', op: '=', value: 1 }
      ]
    ]);
    expect(() => parseFilterString("k=a'b,c'd")).toThrow(
      new FilterError(
        "group 1, condition 2: 'c'd' has no operator; use one of = != < <= > >="
      )
    );
  });

  it('closes a quoted value at the next same quote, the other quote kept inside', () => {
    expect(parseFilterString(`a="x'y",b='z"w',c='x,b='y'`)).toEqual([
      [
        { key: 'a', op: '=', value: "x'y" },
        { key: 'b', op: '=', value: 'z"w' },
        { key: 'c', op: '=', value: "x,b='y" }
      ]
    ]);
  });

  it('tells an empty group from a group of empty conditions', () => {
    expect(() => parseFilterString('a=1; ;b=2')).toThrow(
      new FilterError(
        "OR group 2 is empty (two ';' in a row, or one at the end?)"
      )
    );
    expect(() => parseFilterString('a=1;,')).toThrow(
      new FilterError(
        "group 2, condition 1 is empty (two ',' in a row, or one at the end?)"
      )
    );
    expect(() => parseFilterString('a=1,,b=2')).toThrow(
      new FilterError(
        "group 1, condition 2 is empty (two ',' in a row, or one at the end?)"
      )
    );
    expect(() => parseFilterString('a=1,')).toThrow(
      new FilterError(
        "group 1, condition 2 is empty (two ',' in a row, or one at the end?)"
      )
    );
  });
});
