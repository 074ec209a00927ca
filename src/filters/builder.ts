/**
 * The filter builder's rows (key / operator / value as typed) and the
 * conversions between them and conditions; the text form goes through
 * text.ts, so both views of a filter read and write it the same way.
 *
 * Pure functions only: no DOM, no JupyterLab.
 */
import { FilterOperator, IFilterCondition } from '../api/types';
import {
  checkGroups,
  FilterError,
  FilterGroups,
  FilterValue
} from './conditions';
import { NUMBER_RE, parseValue } from './text';

const ISO_DATE_RE =
  /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

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

/** An empty builder row. */
export function emptyRow(): IFilterRow {
  return { key: '', op: '=', value: '' };
}

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
