/**
 * The one scanner of the filter text form, `telescope=lofar,energy>140;telescope=ska`:
 * it cuts the text into OR groups (`;`), AND-ed conditions (`,`) and, in each
 * condition, operands and operators; never inside a quoted value.
 *
 * A quote (`"` or `'`) opens a quoted value where a value starts: at the
 * start of the text, or right after a separator or an operator character
 * (`,` `;` `=` `<` `>` `!`), spaces aside; and only when the same quote
 * appears again later. Up to that closing quote everything belongs to the
 * value: separators, operators, the other quote. A quote anywhere else (as
 * in O'Brien) or without a closing one is an ordinary character here, and so
 * is a backslash: nothing is escaped. (text.ts then refuses an operand that
 * starts or ends with a quote without being wholly quoted: an unbalanced quote.)
 *
 * The text formatValue writes (a bare word without special characters, or a
 * value in quotes it does not contain) reads the same here and in
 * escape_dlaas/domain/filters.py.
 */

/** Separator of OR groups. */
export const OR_SEPARATOR = ';';
/** Separator of the AND-ed conditions of a group. */
export const AND_SEPARATOR = ',';
/**
 * Operators as written, longest first so that `<=` is not read as `<`. `==`
 * means `=`; the mathematical signs (as other Rucio tools write them) mean
 * their ASCII forms (CANONICAL_OPERATOR).
 */
export const OPERATOR_TOKENS: readonly string[] = [
  '!=',
  '<=',
  '>=',
  '==',
  '\u2260',
  '\u2264',
  '\u2265',
  '=',
  '<',
  '>'
];
/** The operator meant by each other way of writing it. */
export const CANONICAL_OPERATOR: Readonly<Record<string, string>> = {
  '==': '=',
  '\u2260': '!=',
  '\u2264': '<=',
  '\u2265': '>='
};
/** Characters that open (and close) a quoted value. */
export const QUOTES: readonly string[] = ['"', "'"];
/** Characters after which a value starts (a quote there opens a quoted value). */
const VALUE_START_CHARS = new Set([
  OR_SEPARATOR,
  AND_SEPARATOR,
  '=',
  '<',
  '>',
  '!'
]);
/**
 * Characters that have a meaning in the text form: a string value holding
 * one is written in quotes (as filters.py's format_value does).
 */
export const SPECIAL_CHARACTERS = new Set([
  ...VALUE_START_CHARS,
  ...QUOTES,
  '\u2260',
  '\u2264',
  '\u2265'
]);

/** One condition as the scanner cut it. */
export interface IConditionTokens {
  /** The condition's text as typed, for messages. */
  source: string;
  /**
   * Operands (trimmed, quotes kept) and operators, alternating:
   * `[operand, op, operand, ...]`; an operand may be empty (`a=`, `<<`).
   */
  parts: string[];
}

/** One OR group as the scanner cut it. */
export interface IGroupTokens {
  /** The group's text as typed (to tell an empty group). */
  source: string;
  conditions: IConditionTokens[];
}

/** Cut a filter text into OR groups of conditions of operands and operators. */
export function tokenizeFilter(text: string): IGroupTokens[] {
  const groups: IGroupTokens[] = [];
  let group: IGroupTokens = { source: '', conditions: [] };
  let condition: IConditionTokens = { source: '', parts: [] };
  let operand = '';
  let valueStarts = true;

  const take = (chars: string): void => {
    group.source += chars;
    condition.source += chars;
  };
  const endCondition = (): void => {
    condition.parts.push(operand.trim());
    group.conditions.push(condition);
    condition = { source: '', parts: [] };
    operand = '';
  };

  let i = 0;
  while (i < text.length) {
    const char = text[i];
    const closing =
      valueStarts && QUOTES.includes(char) ? text.indexOf(char, i + 1) : -1;
    if (closing !== -1) {
      const quoted = text.slice(i, closing + 1);
      take(quoted);
      operand += quoted;
      valueStarts = false;
      i = closing + 1;
      continue;
    }
    if (char === OR_SEPARATOR || char === AND_SEPARATOR) {
      endCondition();
      if (char === OR_SEPARATOR) {
        groups.push(group);
        group = { source: '', conditions: [] };
      } else {
        group.source += char;
      }
      valueStarts = true;
      i++;
      continue;
    }
    const op = OPERATOR_TOKENS.find(candidate => text.startsWith(candidate, i));
    if (op !== undefined) {
      take(op);
      condition.parts.push(operand.trim(), op);
      operand = '';
      valueStarts = true;
      i += op.length;
      continue;
    }
    take(char);
    operand += char;
    // A lone '!' (not '!=') is kept in the operand but, like the operator
    // characters, lets a value start after it.
    if (VALUE_START_CHARS.has(char)) {
      valueStarts = true;
    } else if (!/\s/.test(char)) {
      valueStarts = false;
    }
    i++;
  }
  endCondition();
  groups.push(group);
  return groups;
}

/** The inside of a value written wholly in quotes (`"a,b"` → `a,b`), else null. */
export function quotedContent(text: string): string | null {
  return text.length >= 2 &&
    text[0] === text[text.length - 1] &&
    QUOTES.includes(text[0])
    ? text.slice(1, -1)
    : null;
}
