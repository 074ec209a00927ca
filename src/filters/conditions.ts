/**
 * Metadata filter conditions: their limits and their checks, with the same
 * rules and messages as escape_dlaas/domain/filters.py.
 *
 * A filter is a list of OR groups; each group is a list of conditions joined
 * by AND. Pure functions only: no DOM, no JupyterLab.
 */
import { FilterOperator, IFilterCondition } from '../api/types';

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

/** Check one condition; `where` says which, e.g. "group 1, condition 2". */
export function checkCondition(
  condition: IFilterCondition,
  where: string
): IFilterCondition {
  const { key, op, value } = condition;
  if (!KEY_RE.test(key)) {
    throw new FilterError(
      `${where}: '${key}' is not a valid metadata key (letters, digits and '_', starting with a letter)`
    );
  }
  if (RESERVED_KEYS.has(key)) {
    throw new FilterError(
      `${where}: '${key}' is not a metadata key; use the name pattern and type fields instead`
    );
  }
  if (!OPERATORS.includes(op)) {
    throw new FilterError(
      `${where}: unknown operator '${op}'; use one of = != < <= > >=`
    );
  }
  if (typeof value === 'string') {
    if (!value) {
      throw new FilterError(`${where}: the value for '${key}' is empty`);
    }
    if (value.length > MAX_VALUE_LENGTH) {
      throw new FilterError(
        `${where}: the value for '${key}' is longer than ${MAX_VALUE_LENGTH} characters`
      );
    }
    if (
      (value.includes('*') || value.includes('%')) &&
      op !== '=' &&
      op !== '!='
    ) {
      throw new FilterError(
        `${where}: wildcards ('*') work only with = and != (got '${key} ${op} ${value}')`
      );
    }
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new FilterError(
        `${where}: the value for '${key}' must be a finite number`
      );
    }
  } else if (typeof value !== 'boolean') {
    throw new FilterError(
      `${where}: the value for '${key}' must be a string, number or boolean`
    );
  } else if (op !== '=' && op !== '!=') {
    throw new FilterError(
      `${where}: true/false can only be compared with = or !=`
    );
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
