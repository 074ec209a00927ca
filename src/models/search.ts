import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import {
  DidTypeFilter,
  ISearchHint,
  ISearchItem,
  ISearchQuery
} from '../api/types';
import {
  emptyRow,
  IFilterRow,
  inferKeyKinds,
  KeyKinds
} from '../filters/builder';
import { FilterError } from '../filters/conditions';
import {
  draftQuery,
  EMPTY_DRAFT,
  ISearchDraft,
  isStaleRefusal,
  rowsOfFilterText,
  textOfFilterRows
} from './searchDraft';

export type SearchState =
  'idle' | 'loading' | 'loading-more' | 'ready' | 'error';

/**
 * Rows described per request after a page's names are shown: a long page (the
 * user's page size may be 1,000) is described in chunks that appear as they come.
 */
export const DESCRIBE_CHUNK = 100;
/** Describe requests under way at a time. */
export const DESCRIBE_AT_ONCE = 2;

/**
 * The search: the form being filled in, with the filter builder and the
 * filter text kept in sync, and the results paged in with the server's cursor.
 */
export class SearchModel implements IDisposable {
  constructor(options: SearchModel.IOptions) {
    this._api = options.api;
    this._instance = options.instance;
    this._pageSize = options.pageSize;
    this._onError = options.onError;
    this._onSuccess = options.onSuccess;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get draft(): ISearchDraft {
    return this._draft;
  }

  /** Why the filter cannot be used as it stands (text or builder), or null. */
  get filterError(): string | null {
    return this._filterError;
  }

  /** The kind of each metadata key, learnt from the results' metadata. */
  get keyKinds(): KeyKinds {
    return this._keyKinds;
  }

  get state(): SearchState {
    return this._state;
  }

  /**
   * Error of the last search (server message for the scientist). Cleared
   * when a new search starts, and when the user edits the part of the form
   * the server refused.
   */
  get error(): DataLakeRequestError | null {
    return this._error;
  }

  /**
   * Why the search shown found nothing, with a corrected filter where there
   * is one (the server sends them with an empty first page); else empty.
   */
  get hints(): readonly ISearchHint[] {
    return this._hints;
  }

  get items(): readonly ISearchItem[] {
    return this._items;
  }

  /** Whether the server has more results for the current query. */
  get hasMore(): boolean {
    return this._nextCursor !== null;
  }

  /** The query of the results shown, or null before the first search. */
  get query(): ISearchQuery | null {
    return this._query;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  setPattern(pattern: string): void {
    this._setDraft({ pattern });
  }

  setScope(scope: string): void {
    this._setDraft({ scope });
  }

  setType(type: DidTypeFilter): void {
    this._setDraft({ type });
  }

  setBuilderOpen(builderOpen: boolean): void {
    this._setDraft({ builderOpen });
  }

  /** The user edited the filter text: the builder follows when the text is valid. */
  setFilterText(filterText: string): void {
    try {
      const filterRows = rowsOfFilterText(filterText);
      this._filterError = null;
      this._setDraft({ filterText, filterRows });
    } catch (error) {
      this._filterError = (error as Error).message;
      this._setDraft({ filterText });
    }
  }

  /** The user edited the builder: the text follows. */
  setFilterRows(filterRows: IFilterRow[][]): void {
    const rows = filterRows.length > 0 ? filterRows : [[emptyRow()]];
    try {
      const filterText = textOfFilterRows(rows, this._keyKinds);
      this._filterError = null;
      this._setDraft({ filterRows: rows, filterText });
    } catch (error) {
      this._filterError = (error as Error).message;
      this._setDraft({ filterRows: rows });
    }
  }

  /** Replace the whole form (e.g. from a command's arguments or a restored session). */
  setDraft(draft: Partial<ISearchDraft>): void {
    this._setDraft(draft);
    if (draft.filterText !== undefined) {
      this.setFilterText(draft.filterText);
    }
  }

  /** The query the form stands for. @throws {FilterError} when the filter is unusable. */
  buildQuery(): ISearchQuery {
    if (this._filterError !== null) {
      throw new FilterError(this._filterError);
    }
    return draftQuery(this._draft, this._keyKinds);
  }

  /** Put a corrected filter (a hint's suggestion, text form) in the form and search with it. */
  async searchFor(filterText: string): Promise<void> {
    this.setFilterText(filterText);
    await this.run();
  }

  /** Run the search of the form from its first page. */
  async run(): Promise<void> {
    const instance = this._instance();
    if (instance === null) {
      return;
    }
    let query: ISearchQuery;
    try {
      query = this.buildQuery();
    } catch (error) {
      // The previous search's error is not this one's: the filter's own is shown.
      this._dropError();
      this._filterError = (error as Error).message;
      this._changed.emit();
      return;
    }
    const generation = ++this._generation;
    this._abort?.abort();
    const abort = (this._abort = new AbortController());
    this._query = query;
    this._queryInstance = instance;
    this._items = [];
    this._hints = [];
    this._nextCursor = null;
    this._error = null;
    this._state = 'loading';
    this._changed.emit();
    await this._fetch(instance, query, null, generation, abort.signal);
  }

  /** Load the next page of the current results, if any; one page at a time. */
  async loadMore(): Promise<void> {
    if (
      this._nextCursor === null ||
      this._query === null ||
      this._queryInstance === null ||
      this._state === 'loading' ||
      this._state === 'loading-more'
    ) {
      return;
    }
    const generation = this._generation;
    this._state = 'loading-more';
    this._error = null;
    this._changed.emit();
    await this._fetch(
      this._queryInstance,
      this._query,
      this._nextCursor,
      generation,
      this._abort?.signal
    );
  }

  /** Forget the results (another instance was chosen). */
  clearResults(): void {
    this._generation++;
    this._abort?.abort();
    this._items = [];
    this._hints = [];
    this._nextCursor = null;
    this._query = null;
    this._queryInstance = null;
    this._error = null;
    this._state = 'idle';
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._abort?.abort();
    Signal.clearData(this);
  }

  private async _fetch(
    instance: string,
    query: ISearchQuery,
    cursor: string | null,
    generation: number,
    signal?: AbortSignal
  ): Promise<void> {
    try {
      // Two steps: the names at once, then one bulk request describes them.
      const page = await this._api.search(instance, query, {
        cursor,
        pageSize: this._pageSize(),
        details: 'names',
        signal
      });
      if (generation !== this._generation || this._isDisposed) {
        return; // a newer search replaced this one
      }
      this._items =
        cursor === null ? page.items : [...this._items, ...page.items];
      if (cursor === null) {
        this._hints = page.hints ?? [];
      }
      this._nextCursor = page.next_cursor;
      this._state = 'ready';
      this._changed.emit();
      const described = await this._describe(
        instance,
        page.items.map(item => item.did),
        generation,
        signal
      );
      if (!described) {
        return; // a newer search replaced this one
      }
      this._onSuccess?.(instance);
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      // The rows already shown stay; the message says what went wrong.
      const error = toRequestError(reason);
      this._error = error;
      this._state = 'error';
      this._onError?.(instance, error);
    }
    this._changed.emit();
  }

  /**
   * Describe the rows in chunks of DESCRIBE_CHUNK, DESCRIBE_AT_ONCE requests at a
   * time; each chunk's rows are shown as soon as it is described. False when a
   * newer search replaced this one meanwhile.
   */
  private async _describe(
    instance: string,
    dids: string[],
    generation: number,
    signal?: AbortSignal
  ): Promise<boolean> {
    const chunks: string[][] = [];
    for (let start = 0; start < dids.length; start += DESCRIBE_CHUNK) {
      chunks.push(dids.slice(start, start + DESCRIBE_CHUNK));
    }
    let current = true;
    let next = 0;
    const describeChunks = async (): Promise<void> => {
      while (current && next < chunks.length) {
        const described = await this._api.describe(
          instance,
          chunks[next++],
          signal
        );
        current = generation === this._generation && !this._isDisposed;
        if (current) {
          this._merge(described);
          this._changed.emit();
        }
      }
    };
    const lanes = Math.min(DESCRIBE_AT_ONCE, chunks.length);
    await Promise.all(Array.from({ length: lanes }, describeChunks));
    return current;
  }

  /** Put described items in place of their names-only rows. */
  private _merge(described: ISearchItem[]): void {
    const byDid = new Map(described.map(item => [item.did, item]));
    this._items = this._items.map(item => byDid.get(item.did) ?? item);
    this._keyKinds = inferKeyKinds(
      described.map(item => item.metadata ?? {}),
      this._keyKinds
    );
  }

  private _setDraft(change: Partial<ISearchDraft>): void {
    const before = this._draft;
    this._draft = { ...before, ...change };
    if (
      this._error !== null &&
      isStaleRefusal(this._error, before, this._draft)
    ) {
      this._dropError();
    }
    this._changed.emit();
  }

  /** Forget the last search's error; the rows it left stay, as results. */
  private _dropError(): void {
    if (this._error === null) {
      return;
    }
    this._error = null;
    if (this._state === 'error') {
      this._state = this._items.length > 0 ? 'ready' : 'idle';
    }
  }

  private _abort: AbortController | null = null;
  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _draft: ISearchDraft = { ...EMPTY_DRAFT };
  private _error: DataLakeRequestError | null = null;
  private _filterError: string | null = null;
  private _generation = 0;
  private _hints: ISearchHint[] = [];
  private _instance: () => string | null;
  private _isDisposed = false;
  private _items: ISearchItem[] = [];
  private _keyKinds: KeyKinds = {};
  private _nextCursor: string | null = null;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _onSuccess?: (instance: string) => void;
  private _pageSize: () => number;
  private _query: ISearchQuery | null = null;
  private _queryInstance: string | null = null;
  private _state: SearchState = 'idle';
}

export namespace SearchModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** The instance to search, or null when none is known yet. */
    instance: () => string | null;
    /** Results per page (read at each request). */
    pageSize: () => number;
    onError?: (instance: string, error: DataLakeRequestError) => void;
    onSuccess?: (instance: string) => void;
  }
}
