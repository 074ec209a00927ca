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
    expect(parseFilterString("k=a!'x=y'")).toEqual([
      [{ key: 'k', op: '=', value: "a!'x=y'" }]
    ]);
    expect(parseFilterString("a=!'x>y'")).toEqual([
      [{ key: 'a', op: '=', value: "!'x>y'" }]
    ]);
    expect(parseFilterString("k=a!'b,c'")).toEqual([
      [{ key: 'k', op: '=', value: "a!'b,c'" }]
    ]);
    expect(parseFilterString("k=x!,j='a,b'")).toEqual([
      [
        { key: 'k', op: '=', value: 'x!' },
        { key: 'j', op: '=', value: 'a,b' }
      ]
    ]);
  });

  it.each([
    [
      "a!'x'",
      "group 1, condition 1: 'a!'x'' has no operator; use one of = != < <= > >="
    ],
    [
      "a!'x,y'=3",
      "group 1, condition 1: 'a!'x,y'' is not a valid metadata key (letters, digits and '_', starting with a letter)"
    ],
    ['a===b', "group 1, condition 1: cannot read 'a===b'"],
    ['a!==b', "group 1, condition 1: cannot read 'a!==b'"]
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
    expect(parseFilterString('a="x\\",b=1"')).toEqual([
      [
        { key: 'a', op: '=', value: 'x\\' },
        { key: 'b', op: '=', value: '1"' }
      ]
    ]);
  });

  it('reads a quote that is never closed as an ordinary character', () => {
    expect(parseFilterString("a='x,b=1")).toEqual([
      [
        { key: 'a', op: '=', value: "'x" },
        { key: 'b', op: '=', value: 1 }
      ]
    ]);
    expect(parseFilterString("k='")).toEqual([
      [{ key: 'k', op: '=', value: "'" }]
    ]);
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
        "group 2, condition 1: '' has no operator; use one of = != < <= > >="
      )
    );
    expect(() => parseFilterString('a=1,,b=2')).toThrow(
      new FilterError(
        "group 1, condition 2: '' has no operator; use one of = != < <= > >="
      )
    );
  });
});
