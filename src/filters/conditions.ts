/**
 * Metadata filter conditions: their limits and their checks, with the same
 * rules and messages as escape_dlaas/domain/filters.py.
 *
 * A filter is a list of OR groups; each group is a list of conditions joined
 * by AND. Pure functions only: no DOM, no JupyterLab.
 */
import { FilterOperator, IFilterCondition } from '../api/types';
import {
  characterCount,
  describeHidden,
  firstHidden,
  shown
} from './characters';

export type FilterValue = string | number | boolean;
export type FilterGroups = IFilterCondition[][];

/** Operators the builder offers, in display order. */
export const OPERATORS: readonly FilterOperator[] = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>='
];

/** Same limits as escape_dlaas/domain/filters.py. */
export const MAX_GROUPS = 16;
export const MAX_CONDITIONS = 32;
export const MAX_FILTER_LENGTH = 4000;
export const MAX_VALUE_LENGTH = 256;

/** What a metadata key looks like. */
export const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED_KEYS = new Set(['name', 'scope', 'type', 'did_type']);

/** A filter that cannot be read or is not valid; the message names the condition. */
export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}

/** The operators, as messages list them. */
export const OPERATOR_LIST = '= != < <= > >=';
/**
 * Rucio binds whole numbers as the database's 64-bit integers: larger ones
 * fail there (2^63 - 1; a JavaScript number cannot hold it exactly).
 */
export const MAX_WHOLE_NUMBER = '9223372036854775807';

/** What is wrong with a key, or null. */
function keyProblem(key: string): string | null {
  if (KEY_RE.test(key)) {
    return null;
  }
  const hidden = firstHidden(key);
  if (hidden !== null) {
    return `'${shown(key, 64)}' is not a valid metadata key: it contains ${describeHidden(hidden)}`;
  }
  return `'${shown(key, 64)}' is not a valid metadata key (letters, digits and '_', starting with a letter)`;
}

/** Whether the server reads `value`, as JSON sends it, as a whole number too large for Rucio. */
function isTooLargeWholeNumber(value: number): boolean {
  // JSON writes 1e21 and above with an exponent: the server reads those as decimals.
  return (
    Number.isInteger(value) &&
    Math.abs(value) >= 2 ** 63 &&
    !/[.eE]/.test(JSON.stringify(value))
  );
}

/** What keeps Rucio from searching with a condition, or null. */
function conditionProblem(condition: IFilterCondition): string | null {
  const { key, op, value } = condition;
  const problem = keyProblem(key);
  if (problem !== null) {
    return problem;
  }
  if (RESERVED_KEYS.has(key)) {
    return `'${key}' is not a metadata key; use the name pattern and type fields instead`;
  }
  if (!OPERATORS.includes(op)) {
    return `'${shown(String(op), 8)}' is not an operator; use one of ${OPERATOR_LIST}`;
  }
  if (typeof value === 'string') {
    const hidden = firstHidden(value);
    if (!value) {
      return `the value for '${key}' is empty`;
    }
    if (characterCount(value) > MAX_VALUE_LENGTH) {
      return `the value for '${key}' is longer than ${MAX_VALUE_LENGTH} characters`;
    }
    if (hidden !== null) {
      return `the value for '${key}' contains ${describeHidden(hidden)}`;
    }
    if (
      (value.includes('*') || value.includes('%')) &&
      op !== '=' &&
      op !== '!='
    ) {
      return `wildcards ('*') work only with = and != (got '${key} ${op} ${value}')`;
    }
  } else if (typeof value === 'boolean') {
    if (op !== '=' && op !== '!=') {
      return 'true/false can only be compared with = or !=';
    }
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return `the value for '${key}' must be a finite number`;
    }
    if (isTooLargeWholeNumber(value)) {
      return (
        `the value for '${key}' is too large: whole numbers go up to ${MAX_WHOLE_NUMBER}` +
        ` (write a larger one as a decimal number, e.g. ${value.toExponential(3)})`
      );
    }
  } else {
    return `the value for '${key}' must be a string, number or boolean`;
  }
  return null;
}

/** Check one condition; `where` says which, e.g. "group 1, condition 2". */
export function checkCondition(
  condition: IFilterCondition,
  where: string
): IFilterCondition {
  const problem = conditionProblem(condition);
  if (problem !== null) {
    throw new FilterError(`${where}: ${problem}`);
  }
  return condition;
}

/** Check a whole filter: limits, each condition, no key+operator twice in a group. */
export function checkGroups(groups: FilterGroups): FilterGroups {
  if (groups.length > MAX_GROUPS) {
    throw new FilterError(
      `too many OR groups (${groups.length}); at most ${MAX_GROUPS}`
    );
  }
  groups.forEach((group, g) => {
    if (group.length === 0) {
      throw new FilterError(`OR group ${g + 1} is empty`);
    }
    if (group.length > MAX_CONDITIONS) {
      throw new FilterError(
        `OR group ${g + 1} has too many conditions (${group.length}); at most ${MAX_CONDITIONS}`
      );
    }
    const seen = new Set<string>();
    group.forEach((condition, c) => {
      checkCondition(condition, `group ${g + 1}, condition ${c + 1}`);
      const pair = `${condition.key} ${condition.op}`;
      if (seen.has(pair)) {
        throw new FilterError(
          `group ${g + 1}: '${pair}' appears twice; Rucio accepts each key and operator once per group`
        );
      }
      seen.add(pair);
    });
  });
  return groups;
}
