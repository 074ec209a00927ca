/**
 * Metadata filters: Rucio's filter string and the filter builder's rows.
 *
 * A filter is a list of OR groups; each group is a list of conditions joined
 * by AND. The text form is the one the Rucio CLI takes and escape_dlaas/filters.py
 * parses: `telescope=lofar,energy>140;telescope=ska` (`,` is AND, `;` is OR,
 * ranges `2<energy<5`, values typed as numbers, true/false or strings, quoted
 * strings kept as strings).
 *
 * One extension over filters.py: separators and operators inside a quoted
 * value (`target="a,b"`) belong to the value, so that every filter the
 * builder can hold survives a trip through the text form.
 *
 * Pure functions only: no DOM, no JupyterLab.
 */
import { FilterOperator, IFilterCondition } from './tokens';

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

/** Same limits as escape_dlaas/filters.py. */
export const MAX_GROUPS = 16;
export const MAX_CONDITIONS = 32;
export const MAX_FILTER_LENGTH = 4000;
export const MAX_VALUE_LENGTH = 256;

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED_KEYS = new Set(['name', 'scope', 'type', 'did_type']);
const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** Longest first, so that `<=` is not read as `<`. */
const SPLIT_OPERATORS = ['!=', '<=', '>=', '==', '=', '<', '>'];
const FLIPPED: Record<string, FilterOperator> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<='
};
/** Characters that make a string value need quotes in the text form. */
const SPECIAL_CHARS = /[,;=<>!"']/;
const ISO_DATE_RE =
  /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A filter that cannot be read or is not valid; the message names the condition. */
export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}

/** Type a value as a person typed it: quoted → string; number; true/false; else string. */
export function parseValue(text: string): FilterValue {
  const trimmed = text.trim();
  if (
    trimmed.length >= 2 &&
    trimmed[0] === trimmed[trimmed.length - 1] &&
    (trimmed[0] === '"' || trimmed[0] === "'")
  ) {
    return trimmed.slice(1, -1);
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
    SPECIAL_CHARS.test(value)
  ) {
    return value.includes('"') ? `'${value}'` : `"${value}"`;
  }
  return value;
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

/**
 * Parse `a=1,b>2;c!=x` (and ranges `1<a<5`) into OR groups of conditions.
 *
 * @throws {FilterError} naming the group and condition at fault.
 */
export function parseFilterString(text: string): FilterGroups {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new FilterError(
      `the filter is longer than ${MAX_FILTER_LENGTH} characters`
    );
  }
  const groups: FilterGroups = [];
  if (!text.trim()) {
    return groups;
  }
  Private.splitOutsideQuotes(text, ';').forEach((groupText, g) => {
    if (!groupText.trim()) {
      throw new FilterError(
        `OR group ${g + 1} is empty (two ';' in a row, or one at the end?)`
      );
    }
    const group: IFilterCondition[] = [];
    Private.splitOutsideQuotes(groupText, ',').forEach((conditionText, c) => {
      const where = `group ${g + 1}, condition ${c + 1}`;
      const shown = conditionText.trim();
      const parts = Private.splitOperators(conditionText);
      if (parts.length === 3) {
        let [left, op, right] = parts;
        op = op === '==' ? '=' : op;
        if (!KEY_RE.test(left) && KEY_RE.test(right) && op in FLIPPED) {
          // "3<energy" reads as "energy>3"
          [left, op, right] = [right, FLIPPED[op], left];
        }
        if (!left || !right) {
          throw new FilterError(
            `${where}: '${shown}' needs a key, an operator and a value`
          );
        }
        group.push({
          key: left,
          op: op as FilterOperator,
          value: parseValue(right)
        });
      } else if (
        parts.length === 5 &&
        parts[1] in FLIPPED &&
        parts[3] in FLIPPED
      ) {
        const [low, op1, key, op2, high] = parts;
        const rising1 = op1 === '<' || op1 === '<=';
        const rising2 = op2 === '<' || op2 === '<=';
        if (rising1 !== rising2) {
          throw new FilterError(
            `${where}: a range must go one way, e.g. 2<energy<5`
          );
        }
        group.push({ key, op: FLIPPED[op1], value: parseValue(low) });
        group.push({ key, op: op2 as FilterOperator, value: parseValue(high) });
      } else if (parts.length === 1) {
        throw new FilterError(
          `${where}: '${shown}' has no operator; use one of = != < <= > >=`
        );
      } else {
        throw new FilterError(`${where}: cannot read '${shown}'`);
      }
    });
    groups.push(group);
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
        .join(',')
    )
    .join(';');
}

/* ------------------------------------------------------------------------
 * The filter builder: rows of key / operator / value as typed.
 * ---------------------------------------------------------------------- */

/** How a value is typed: inferred from what was typed, or fixed by the key. */
export type ValueKind = 'auto' | 'text' | 'number' | 'date' | 'boolean';

/** One row of the builder; `value` is the text in the value box. */
export interface IFilterRow {
  key: string;
  op: FilterOperator;
  value: string;
  /**
   * `text` keeps a value such as "150" a string; unset means: as the key's
   * kind says, else as parseValue reads it.
   */
  kind?: ValueKind;
}

/** The kind of each metadata key, inferred from values seen in results. */
export type KeyKinds = Record<string, ValueKind>;

/** Whether a row holds nothing yet (skipped, not an error). */
export function isBlankRow(row: IFilterRow): boolean {
  return !row.key.trim() && !row.value.trim();
}

/** Whether a row is half filled (a key without value or the reverse). */
export function isIncompleteRow(row: IFilterRow): boolean {
  return !isBlankRow(row) && (!row.key.trim() || !row.value.trim());
}

/** The kind a row's value takes: the row's own, else its key's, else auto. */
export function rowKind(row: IFilterRow, kinds: KeyKinds = {}): ValueKind {
  if (row.kind && row.kind !== 'auto') {
    return row.kind;
  }
  return kinds[row.key.trim()] ?? 'auto';
}

/**
 * The conditions the rows stand for. Blank and half-filled rows are left
 * out (the builder says so before a search); values are typed by their kind.
 *
 * @throws {FilterError} when a value does not fit its kind or the filter is invalid.
 */
export function rowsToGroups(
  rows: IFilterRow[][],
  kinds: KeyKinds = {}
): FilterGroups {
  const groups: FilterGroups = [];
  rows.forEach((groupRows, g) => {
    const group: IFilterCondition[] = [];
    groupRows.forEach((row, c) => {
      if (isBlankRow(row) || isIncompleteRow(row)) {
        return;
      }
      const key = row.key.trim();
      const where = `group ${g + 1}, condition ${c + 1}`;
      group.push({ key, op: row.op, value: typedValue(row, kinds, where) });
    });
    if (group.length > 0) {
      groups.push(group);
    }
  });
  return checkGroups(groups);
}

/** Builder rows for conditions, e.g. after the text form was edited. */
export function groupsToRows(groups: FilterGroups): IFilterRow[][] {
  return groups.map(group =>
    group.map(({ key, op, value }) => {
      if (typeof value === 'number') {
        return { key, op, value: String(value), kind: 'number' as const };
      }
      if (typeof value === 'boolean') {
        return { key, op, value: String(value), kind: 'boolean' as const };
      }
      // A string that would read as a number or true/false stays text.
      const row: IFilterRow = { key, op, value };
      if (parseValue(value) !== value) {
        row.kind = 'text';
      }
      return row;
    })
  );
}

/** The value of a row, typed by its kind. */
export function typedValue(
  row: IFilterRow,
  kinds: KeyKinds = {},
  where = 'condition'
): FilterValue {
  const text = row.value.trim();
  const key = row.key.trim();
  switch (rowKind(row, kinds)) {
    case 'number': {
      const number = NUMBER_RE.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(number)) {
        throw new FilterError(
          `${where}: the value for '${key}' must be a number (got '${text}')`
        );
      }
      return number;
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        throw new FilterError(
          `${where}: the value for '${key}' must be true or false`
        );
      }
      return lower === 'true';
    }
    case 'date':
    case 'text': {
      const quoted = parseValue(text);
      // Quotes typed in a text box are not part of the value.
      return typeof quoted === 'string' && quoted !== text ? quoted : text;
    }
    default:
      return parseValue(text);
  }
}

/** Whether a string looks like an ISO date or date-time (2023-09-01, 2023-09-01T12:00). */
export function isIsoDate(value: string): boolean {
  return ISO_DATE_RE.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * The kind of each key from metadata seen in results: numbers, true/false or
 * ISO dates when every value seen is one; text otherwise.
 */
export function inferKeyKinds(
  metadata: Iterable<Record<string, unknown>>,
  known: KeyKinds = {}
): KeyKinds {
  const seen: Record<string, Set<ValueKind>> = {};
  for (const record of metadata) {
    for (const [key, value] of Object.entries(record)) {
      let kind: ValueKind;
      if (typeof value === 'number') {
        kind = 'number';
      } else if (typeof value === 'boolean') {
        kind = 'boolean';
      } else if (typeof value === 'string') {
        kind = isIsoDate(value) ? 'date' : 'text';
      } else {
        continue;
      }
      (seen[key] ??= new Set()).add(kind);
    }
  }
  const kinds: KeyKinds = { ...known };
  for (const [key, found] of Object.entries(seen)) {
    const all = new Set([...found, ...(known[key] ? [known[key]] : [])]);
    kinds[key] = all.size === 1 ? [...all][0] : 'text';
  }
  return kinds;
}

namespace Private {
  /**
   * Split on a separator, except inside a quoted value. A quote opens a
   * value only where a value starts (after an operator or separator), so an
   * apostrophe inside a word stays a character, as in filters.py.
   */
  export function splitOutsideQuotes(
    text: string,
    separator: string
  ): string[] {
    const out: string[] = [];
    let current = '';
    let quote: string | null = null;
    let atValueStart = true;
    for (let i = 0; i < text.length; i++) {
      const char = text[i];
      if (quote !== null) {
        current += char;
        if (char === quote) {
          quote = null;
        }
        continue;
      }
      if (
        (char === '"' || char === "'") &&
        atValueStart &&
        hasClosing(text, i)
      ) {
        quote = char;
        current += char;
        atValueStart = false;
        continue;
      }
      if (char === separator) {
        out.push(current);
        current = '';
        atValueStart = true;
        continue;
      }
      current += char;
      if (/[,;=<>!]/.test(char)) {
        atValueStart = true;
      } else if (!/\s/.test(char)) {
        atValueStart = false;
      }
    }
    out.push(current);
    return out;
  }

  /** Split a condition on its operators (outside quotes), trimming each part. */
  export function splitOperators(text: string): string[] {
    const parts: string[] = [];
    let current = '';
    let quote: string | null = null;
    let atValueStart = true;
    let i = 0;
    while (i < text.length) {
      const char = text[i];
      if (quote !== null) {
        current += char;
        if (char === quote) {
          quote = null;
        }
        i++;
        continue;
      }
      if (
        (char === '"' || char === "'") &&
        atValueStart &&
        hasClosing(text, i)
      ) {
        quote = char;
        current += char;
        atValueStart = false;
        i++;
        continue;
      }
      const op = SPLIT_OPERATORS.find(candidate =>
        text.startsWith(candidate, i)
      );
      if (op !== undefined) {
        parts.push(current.trim(), op);
        current = '';
        atValueStart = true;
        i += op.length;
        continue;
      }
      current += char;
      if (!/\s/.test(char)) {
        atValueStart = false;
      }
      i++;
    }
    parts.push(current.trim());
    return parts;
  }

  function hasClosing(text: string, open: number): boolean {
    return text.indexOf(text[open], open + 1) !== -1;
  }
}
