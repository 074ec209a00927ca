/**
 * Searching the catalogue (`GET instances/{i}/search`) and its metadata filter.
 *
 * Shapes of the REST API, mirroring escape_dlaas/web/openapi.yaml (field
 * names exactly as the server sends them). Types only, no code.
 */
import type { IAvailability } from './dids';

/** The `type` filter of a search. */
export type DidTypeFilter =
  'all' | 'collection' | 'dataset' | 'container' | 'file';

/** One search result. */
export interface ISearchItem {
  did: string;
  scope: string;
  name: string;
  /** FILE, DATASET or CONTAINER (upper case), when known. */
  type: string | null;
  bytes: number | null;
  /** Number of files. */
  length: number | null;
  /** Absent until the item is described (a page fetched with `details: 'names'`). */
  metadata?: Record<string, unknown>;
  /** Absent until described; null for what has no state here (containers on a page). */
  availability?: IAvailability | null;
}

/** Why a metadata search may have found nothing, and what to search for instead. */
export interface ISearchHint {
  /** `unknown_key`, `case` (the value in another letter case) or `quotes` (quotes typed around a value). */
  kind: 'unknown_key' | 'case' | 'quotes';
  /** The request field the hint is about (`filter`). */
  field: string;
  /** In plain words, for the scientist. */
  message: string;
  /** The whole filter, corrected, in the text form; null when there is no single fix. */
  suggestion: string | null;
}

/** Body of `GET instances/{i}/search`. */
export interface ISearchResponse {
  items: ISearchItem[];
  next_cursor: string | null;
  scopes_searched?: string[];
  /** Whether a scope had more matches than a cursor can reach (they are left out). */
  truncated?: boolean;
  /** Why a metadata search found nothing: only with an empty first page, else []. */
  hints?: ISearchHint[];
}

/** One metadata condition; a filter is OR groups of AND-ed conditions. */
export interface IFilterCondition {
  key: string;
  op: FilterOperator;
  value: string | number | boolean;
}

/** Comparison operators of the metadata filter. */
export type FilterOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** What a search asks for. */
export interface ISearchQuery {
  /** Name pattern with `*` wildcards, optionally `scope:pattern`. */
  pattern: string;
  /** One scope, or '' for all. */
  scope: string;
  type: DidTypeFilter;
  /** Metadata filter: OR groups of AND-ed conditions ([] for none). */
  filters: IFilterCondition[][];
}
