/**
 * The text form of a metadata filter, the one the Rucio CLI takes and
 * escape_dlaas/domain/filters.py parses: `telescope=lofar,energy>140;telescope=ska`
 * (`,` is AND, `;` is OR, ranges `2<energy<5`, `≥ ≤ ≠` read as `>= <= !=`,
 * values typed as numbers, true/false or strings, quoted strings kept as
 * strings; quoted values may hold separators and operators, see tokenizer.ts).
 * The same readings and messages as filters.py, so the panel says before
 * sending what the server would answer.
 *
 * Pure functions only: no DOM, no JupyterLab.
 */
import { FilterOperator, IFilterCondition } from '../api/types';
import { characterCount, shown } from './characters';
import {
  checkGroups,
  FilterError,
  FilterGroups,
  FilterValue,
  KEY_RE,
  MAX_FILTER_LENGTH,
  OPERATOR_LIST
} from './conditions';
import {
  AND_SEPARATOR,
  CANONICAL_OPERATOR,
  OR_SEPARATOR,
  QUOTES,
  quotedContent,
  SPECIAL_CHARACTERS,
  tokenizeFilter
} from './tokenizer';

/** What a number looks like in the text form (as in filters.py). */
export const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The mirror of each comparison: `3<energy` reads as `energy>3`. */
const FLIPPED: Record<string, FilterOperator> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<='
};

/** Type a value as a person typed it: quoted → string; number; true/false; else string. */
export function parseValue(text: string): FilterValue {
  const trimmed = text.trim();
  const quoted = quotedContent(trimmed);
  if (quoted !== null) {
    return quoted;
  }
  if (NUMBER_RE.test(trimmed)) {
    const number = Number(trimmed);
    return Number.isFinite(number) ? number : trimmed;
  }
  const lower = trimmed.toLowerCase();
  if (lower === 'true' || lower === 'false') {
    return lower === 'true';
  }
  return trimmed;
}

/** The inverse of parseValue: quotes strings that would otherwise change type or meaning. */
export function formatValue(value: FilterValue): string {
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (typeof value === 'number') {
    return String(value);
  }
  if (
    value === '' ||
    value !== value.trim() ||
    parseValue(value) !== value ||
    [...value].some(char => SPECIAL_CHARACTERS.has(char))
  ) {
    return value.includes('"') ? `'${value}'` : `"${value}"`;
  }
  return value;
}

/**
 * Parse `a=1,b>2;c!=x` (and ranges `1<a<5`) into OR groups of conditions.
 *
 * @throws {FilterError} naming the group and condition at fault.
 */
export function parseFilterString(text: string): FilterGroups {
  if (characterCount(text) > MAX_FILTER_LENGTH) {
    throw new FilterError(
      `the filter is longer than ${MAX_FILTER_LENGTH} characters`
    );
  }
  if (!text.trim()) {
    return [];
  }
  const groups = tokenizeFilter(text).map((group, g) => {
    if (!group.source.trim()) {
      throw new FilterError(
        `OR group ${g + 1} is empty (two '${OR_SEPARATOR}' in a row, or one at the end?)`
      );
    }
    return group.conditions.flatMap((condition, c) =>
      Private.readCondition(
        condition.parts,
        condition.source.trim(),
        `group ${g + 1}, condition ${c + 1}`
      )
    );
  });
  return checkGroups(groups);
}

/** Inverse of parseFilterString (a range comes out as two conditions). */
export function formatFilterString(groups: FilterGroups): string {
  return groups
    .map(group =>
      group
        .map(
          condition =>
            `${condition.key}${condition.op}${formatValue(condition.value)}`
        )
        .join(AND_SEPARATOR)
    )
    .join(OR_SEPARATOR);
}

namespace Private {
  /** What was probably meant by two operators typed in a row (as filters.py says it). */
  const OPERATOR_ADVICE: Record<string, string> = {
    '>>': '> or >=',
    '<<': '< or <=',
    '=>': '>=',
    '=<': '<=',
    '<>': '!=',
    '><': '!=',
    '===': '='
  };

  /** Operators typed in a row (`>>`) and quotes without their pair, named. */
  function checkOperands(parts: string[], text: string, where: string): void {
    const operands = parts.filter((_, i) => i % 2 === 0);
    const operators = parts.filter((_, i) => i % 2 === 1);
    for (let k = 1; k < operands.length - 1; k++) {
      if (!operands[k]) {
        const run = operators[k - 1] + operators[k];
        const advice = OPERATOR_ADVICE[run] ?? `one of ${OPERATOR_LIST}`;
        throw new FilterError(
          `${where}: '${run}' is not an operator; use ${advice}`
        );
      }
    }
    for (const operand of operands) {
      const first = operand[0];
      const last = operand[operand.length - 1];
      if (
        operand &&
        quotedContent(operand) === null &&
        (QUOTES.includes(first) || QUOTES.includes(last))
      ) {
        const quote = QUOTES.includes(first) ? first : last;
        throw new FilterError(
          `${where}: '${text}' has an unbalanced quote (${quote}); put the value between two quotes or write it without quotes`
        );
      }
    }
  }

  /** The condition(s) of one condition's parts: `key op value`, its mirror, or a range. */
  export function readCondition(
    typed: string[],
    source: string,
    where: string
  ): IFilterCondition[] {
    const text = shown(source);
    if (typed.length === 1 && typed[0] === '') {
      throw new FilterError(
        `${where} is empty (two '${AND_SEPARATOR}' in a row, or one at the end?)`
      );
    }
    checkOperands(typed, text, where);
    const parts = typed.map((part, i) =>
      i % 2 === 1 ? (CANONICAL_OPERATOR[part] ?? part) : part
    );
    if (parts.length === 3) {
      let [left, op, right] = parts;
      if (!KEY_RE.test(left) && KEY_RE.test(right) && op in FLIPPED) {
        // "3<energy" reads as "energy>3"
        [left, op, right] = [right, FLIPPED[op], left];
      }
      if (!left || !right) {
        throw new FilterError(
          `${where}: '${text}' needs a key, an operator and a value`
        );
      }
      return [
        { key: left, op: op as FilterOperator, value: parseValue(right) }
      ];
    }
    if (parts.length === 5 && parts[1] in FLIPPED && parts[3] in FLIPPED) {
      const [low, op1, key, op2, high] = parts;
      const rising1 = op1 === '<' || op1 === '<=';
      const rising2 = op2 === '<' || op2 === '<=';
      if (rising1 !== rising2) {
        throw new FilterError(
          `${where}: a range must go one way, e.g. 2<energy<5`
        );
      }
      return [
        { key, op: FLIPPED[op1], value: parseValue(low) },
        { key, op: op2 as FilterOperator, value: parseValue(high) }
      ];
    }
    if (parts.length === 1) {
      throw new FilterError(
        `${where}: '${text}' has no operator; use one of ${OPERATOR_LIST}`
      );
    }
    throw new FilterError(`${where}: cannot read '${text}'`);
  }
}
