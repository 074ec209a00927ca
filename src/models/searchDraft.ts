/**
 * The search form as the user fills it in: its fields, the fields of a saved
 * form that can be used, the query it stands for, and which refusal of the
 * server an edit makes stale.
 */
import { DataLakeRequestError } from '../api/request';
import { DidTypeFilter, ISearchQuery } from '../api/types';
import {
  emptyRow,
  groupsToRows,
  IFilterRow,
  isIncompleteRow,
  KeyKinds,
  rowsToGroups
} from '../filters/builder';
import { FilterError, FilterGroups } from '../filters/conditions';
import { formatFilterString, parseFilterString } from '../filters/text';

/** The search form as the user is filling it in. */
export interface ISearchDraft {
  /** Name pattern, `*` wildcards, optionally `scope:pattern`. */
  pattern: string;
  /** One scope, or '' for all scopes. */
  scope: string;
  type: DidTypeFilter;
  /** The metadata filter as Rucio text. */
  filterText: string;
  /** The same filter as builder rows: OR groups of AND-ed rows. */
  filterRows: IFilterRow[][];
  /** Whether the filter builder is unfolded. */
  builderOpen: boolean;
}

export const EMPTY_DRAFT: Readonly<ISearchDraft> = {
  pattern: '',
  scope: '',
  type: 'all',
  filterText: '',
  filterRows: [[emptyRow()]],
  builderOpen: false
};

/** The parts of the form that make the query (not how it is shown). */
type QueryPart = 'pattern' | 'scope' | 'type' | 'filter';

/**
 * The parts of the form a refused search was about: editing one of them
 * makes the server's answer stale. Null: any part may be at fault.
 */
function partsAtFault(error: DataLakeRequestError): QueryPart[] | null {
  if (error.reason === 'empty_search') {
    return ['pattern', 'filter'];
  }
  switch (error.field) {
    case 'q':
      return ['pattern'];
    case 'scope':
      // "scope:pattern" typed in the name box sets the scope too.
      return ['scope', 'pattern'];
    case 'type':
      return ['type'];
    case 'filter':
    case 'filters':
      return ['filter'];
    default:
      return null;
  }
}

/** The query parts a change of the draft touches. */
function changedParts(before: ISearchDraft, after: ISearchDraft): QueryPart[] {
  const parts: QueryPart[] = [];
  if (before.pattern !== after.pattern) {
    parts.push('pattern');
  }
  if (before.scope !== after.scope) {
    parts.push('scope');
  }
  if (before.type !== after.type) {
    parts.push('type');
  }
  if (
    before.filterText !== after.filterText ||
    JSON.stringify(before.filterRows) !== JSON.stringify(after.filterRows)
  ) {
    parts.push('filter');
  }
  return parts;
}

/** The parts of a saved search form (e.g. from a past session) that have the right types. */
export function validDraft(
  saved: Partial<ISearchDraft>
): Partial<ISearchDraft> {
  const draft: Partial<ISearchDraft> = {};
  if (typeof saved.pattern === 'string') {
    draft.pattern = saved.pattern;
  }
  if (typeof saved.scope === 'string') {
    draft.scope = saved.scope;
  }
  if (
    typeof saved.type === 'string' &&
    ['all', 'collection', 'dataset', 'container', 'file'].includes(saved.type)
  ) {
    draft.type = saved.type;
  }
  if (typeof saved.filterText === 'string') {
    draft.filterText = saved.filterText;
  }
  if (typeof saved.builderOpen === 'boolean') {
    draft.builderOpen = saved.builderOpen;
  }
  return draft;
}

/**
 * The query a draft stands for, its filter read with the key kinds known.
 *
 * @throws {FilterError} when a filter row is half filled in or unusable.
 */
export function draftQuery(
  draft: ISearchDraft,
  keyKinds: KeyKinds
): ISearchQuery {
  const incomplete = draft.filterRows.some(group =>
    group.some(isIncompleteRow)
  );
  if (incomplete) {
    throw new FilterError(
      'a metadata condition is half filled in: give it a key and a value, or remove it'
    );
  }
  let filters: FilterGroups;
  try {
    filters = rowsToGroups(draft.filterRows, keyKinds);
  } catch (error) {
    throw new FilterError((error as Error).message);
  }
  return {
    pattern: draft.pattern.trim(),
    scope: draft.scope,
    type: draft.type,
    filters
  };
}

/**
 * Whether an edit of the form (`before` to `after`) makes the server's
 * refusal of what was typed stale: it touched a part the refusal was about.
 */
export function isStaleRefusal(
  error: DataLakeRequestError,
  before: ISearchDraft,
  after: ISearchDraft
): boolean {
  if (error.status !== 400 && error.status !== 422) {
    return false;
  }
  const atFault = partsAtFault(error);
  return changedParts(before, after).some(
    part => atFault === null || atFault.includes(part)
  );
}

/** The builder rows of a filter text (one empty row for none). @throws {Error} when the text is no valid filter. */
export function rowsOfFilterText(filterText: string): IFilterRow[][] {
  const groups = parseFilterString(filterText);
  return groups.length > 0 ? groupsToRows(groups) : [[emptyRow()]];
}

/** The filter text of builder rows. @throws {Error} when a row is not usable. */
export function textOfFilterRows(
  rows: IFilterRow[][],
  keyKinds: KeyKinds
): string {
  return formatFilterString(rowsToGroups(rows, keyKinds));
}
