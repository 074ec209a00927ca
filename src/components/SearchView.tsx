import { TranslationBundle } from '@jupyterlab/translation';
import {
  caretDownIcon,
  caretRightIcon,
  downloadIcon
} from '@jupyterlab/ui-components';
import React from 'react';

import { DidTypeFilter, ISearchItem } from '../api/types';
import { formatBytes, formatFileCount } from '../format';
import { DataLakeModel } from '../models/datalake';
import { IDataLakeActions } from '../tokens';
import { AlertMessage } from './AlertMessage';
import { AvailabilityBadge, describeAvailability } from './AvailabilityBadge';
import { FilterBuilder } from './FilterBuilder';
import { VirtualList } from './VirtualList';

/** Height of a result row in pixels (VirtualList needs it fixed; see base.css). */
export const RESULT_ROW_HEIGHT = 52;

export interface ISearchViewProps {
  model: DataLakeModel;
  actions: IDataLakeActions;
  trans: TranslationBundle;
}

/** The search form and its results. */
export function SearchView(props: ISearchViewProps): JSX.Element {
  return (
    <div className="jp-DLaaS-searchView">
      <SearchForm {...props} />
      <SearchResults {...props} />
    </div>
  );
}

/** Name pattern, scope, type, metadata filter (text and builder, in sync). */
export function SearchForm(props: ISearchViewProps): JSX.Element {
  const { model, trans } = props;
  const search = model.search;
  const draft = search.draft;
  const id = React.useId();
  const scopes = model.catalogue.scopes ?? [];
  const keys = model.catalogue.metadataKeys ?? [];
  const busy = search.state === 'loading';
  const disabled = model.instanceName === null;
  const typeLabels: [DidTypeFilter, string][] = [
    ['all', trans.__('All types')],
    ['collection', trans.__('Collections')],
    ['container', trans.__('Containers')],
    ['dataset', trans.__('Datasets')],
    ['file', trans.__('Files')]
  ];

  return (
    <form
      className="jp-DLaaS-searchForm"
      role="search"
      aria-label={trans.__('Search the data lake')}
      onSubmit={event => {
        event.preventDefault();
        void search.run();
      }}
    >
      <label className="jp-DLaaS-field" htmlFor={`${id}-pattern`}>
        {trans.__('Name')}
      </label>
      <input
        id={`${id}-pattern`}
        className="jp-DLaaS-input"
        type="search"
        aria-label={trans.__('Name pattern')}
        placeholder={trans.__('e.g. *.fits or lofar:L2023*')}
        value={draft.pattern}
        spellCheck={false}
        autoComplete="off"
        onChange={event => search.setPattern(event.target.value)}
      />
      <div className="jp-DLaaS-formRow">
        <div className="jp-DLaaS-formCell">
          <label className="jp-DLaaS-field" htmlFor={`${id}-scope`}>
            {trans.__('Scope')}
          </label>
          <select
            id={`${id}-scope`}
            className="jp-DLaaS-select"
            aria-label={trans.__('Scope')}
            value={draft.scope}
            onChange={event => search.setScope(event.target.value)}
          >
            <option value="">{trans.__('All scopes')}</option>
            {/* A restored scope stays selectable before the list arrives. */}
            {draft.scope && !scopes.includes(draft.scope) && (
              <option value={draft.scope}>{draft.scope}</option>
            )}
            {scopes.map(scope => (
              <option key={scope} value={scope}>
                {scope}
              </option>
            ))}
          </select>
        </div>
        <div className="jp-DLaaS-formCell">
          <label className="jp-DLaaS-field" htmlFor={`${id}-type`}>
            {trans.__('Type')}
          </label>
          <select
            id={`${id}-type`}
            className="jp-DLaaS-select"
            aria-label={trans.__('Type')}
            value={draft.type}
            onChange={event =>
              search.setType(event.target.value as DidTypeFilter)
            }
          >
            {typeLabels.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <label className="jp-DLaaS-field" htmlFor={`${id}-filter`}>
        {trans.__('Metadata filter')}
      </label>
      <input
        id={`${id}-filter`}
        className="jp-DLaaS-input jp-DLaaS-filterText"
        aria-label={trans.__('Metadata filter')}
        aria-invalid={search.filterError !== null}
        aria-describedby={
          search.filterError ? `${id}-filterError` : `${id}-filterHint`
        }
        placeholder={trans.__('e.g. telescope=lofar,energy>140;telescope=ska')}
        value={draft.filterText}
        spellCheck={false}
        autoComplete="off"
        onChange={event => search.setFilterText(event.target.value)}
      />
      {search.filterError ? (
        <p
          id={`${id}-filterError`}
          className="jp-DLaaS-fieldError"
          role="alert"
        >
          {search.filterError}
        </p>
      ) : (
        <p id={`${id}-filterHint`} className="jp-DLaaS-hint">
          {trans.__('"," means and, ";" means or; ranges as 2<energy<5.')}
        </p>
      )}
      <button
        type="button"
        className="jp-DLaaS-disclosure"
        aria-expanded={draft.builderOpen}
        onClick={() => search.setBuilderOpen(!draft.builderOpen)}
      >
        {draft.builderOpen ? (
          <caretDownIcon.react tag="span" elementSize="small" />
        ) : (
          <caretRightIcon.react tag="span" elementSize="small" />
        )}
        {trans.__('Filter builder')}
      </button>
      {draft.builderOpen && (
        <FilterBuilder
          rows={draft.filterRows}
          onChange={rows => search.setFilterRows(rows)}
          keys={keys}
          kinds={search.keyKinds}
          trans={trans}
        />
      )}
      <div className="jp-DLaaS-formActions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-DLaaS-searchButton"
          disabled={disabled || busy}
          aria-busy={busy}
        >
          {trans.__('Search')}
        </button>
      </div>
    </form>
  );
}

/** The results: a windowed list paging in as the user scrolls. */
export function SearchResults(props: ISearchViewProps): JSX.Element | null {
  const { model, trans } = props;
  const search = model.search;
  const items = search.items;
  // loadMore() does nothing while a page is loading or when there is no more.
  const onEndReached = React.useCallback(
    () => void search.loadMore(),
    [search]
  );

  if (search.state === 'idle') {
    return null;
  }

  let summary: string;
  if (search.state === 'loading') {
    summary = trans.__('Searching…');
  } else if (items.length === 0 && search.state !== 'error') {
    summary = trans.__('No data matches this search.');
  } else if (search.hasMore || search.state === 'loading-more') {
    summary = trans.__('%1 results so far; scroll for more', items.length);
  } else {
    summary = trans._n('%1 result', '%1 results', items.length);
  }

  return (
    <section
      className="jp-DLaaS-results"
      aria-label={trans.__('Search results')}
    >
      <p className="jp-DLaaS-resultsSummary" role="status" aria-live="polite">
        {summary}
        {search.state === 'loading-more' && ` ${trans.__('(loading…)')}`}
      </p>
      {search.error && (
        <AlertMessage kind="error" label={trans.__('Search failed')}>
          <p>{search.error.message}</p>
        </AlertMessage>
      )}
      {search.state === 'ready' && items.length === 0 && (
        <SearchHints {...props} />
      )}
      {items.length > 0 && (
        <VirtualList
          items={items}
          rowHeight={RESULT_ROW_HEIGHT}
          itemKey={item => item.did}
          ariaLabel={trans.__('Results')}
          onEndReached={onEndReached}
          className="jp-DLaaS-resultList"
          renderRow={(item, index, focused) => (
            <ResultRow
              item={item}
              index={index}
              count={items.length}
              focused={focused}
              {...props}
            />
          )}
        />
      )}
    </section>
  );
}

/**
 * Why the search found nothing, as the server explains it: each hint's
 * message, and a button that searches for its corrected filter.
 */
export function SearchHints(props: ISearchViewProps): JSX.Element | null {
  const { model, trans } = props;
  const search = model.search;
  if (search.hints.length === 0) {
    return null;
  }
  return (
    <AlertMessage kind="warning" label={trans.__('Why nothing matched')}>
      {search.hints.map((hint, index) => (
        <div key={index} className="jp-DLaaS-searchHint">
          <p>{hint.message}</p>
          {hint.suggestion !== null && (
            <button
              type="button"
              className="jp-mod-styled jp-DLaaS-searchHintButton"
              disabled={model.instanceName === null}
              onClick={() => void search.searchFor(hint.suggestion!)}
            >
              {trans.__('Search for %1', hint.suggestion)}
            </button>
          )}
        </div>
      ))}
    </AlertMessage>
  );
}

/** Short label of a DID type. */
export function typeLabel(
  type: string | null,
  trans: TranslationBundle
): string {
  switch ((type ?? '').toUpperCase()) {
    case 'FILE':
      return trans.__('File');
    case 'DATASET':
      return trans.__('Dataset');
    case 'CONTAINER':
      return trans.__('Container');
    default:
      return trans.__('Unknown type');
  }
}

export interface IResultRowProps extends ISearchViewProps {
  item: ISearchItem;
  index: number;
  count: number;
  focused: boolean;
}

/** One result: type, name, size and files, availability at the notebook, make available. */
export function ResultRow(props: IResultRowProps): JSX.Element {
  const { item, index, count, focused, model, actions, trans } = props;
  const availability = model.availabilityOf(item.did, item.availability);
  const type = (item.type ?? '').toUpperCase();
  const size = formatBytes(item.bytes);
  const files = type === 'FILE' ? '' : formatFileCount(item.length, trans);
  const details = [item.scope, size, files].filter(Boolean).join(' · ');
  // A described page leaves containers out (resolving them costs a listing of all their files).
  const onRequestOnly =
    type === 'CONTAINER' && item.metadata !== undefined && !availability;
  const { description } = describeAvailability(
    availability,
    trans,
    onRequestOnly
  );
  return (
    <div
      className="jp-DLaaS-result"
      role="listitem"
      aria-label={item.did}
      aria-posinset={index + 1}
      aria-setsize={count}
      data-did={item.did}
    >
      <span
        className={`jp-DLaaS-typeBadge jp-mod-${type.toLowerCase() || 'unknown'}`}
        title={typeLabel(item.type, trans)}
        aria-hidden="true"
      >
        {type ? type[0] : '?'}
      </span>
      <button
        type="button"
        className="jp-DLaaS-resultMain"
        tabIndex={focused ? 0 : -1}
        title={trans.__('Show the details of %1', item.did)}
        aria-label={trans.__(
          '%1, %2, %3, %4. Show details',
          item.did,
          typeLabel(item.type, trans),
          [size, files].filter(Boolean).join(', '),
          description
        )}
        onClick={() => void model.openDetails(item.did)}
      >
        <span className="jp-DLaaS-resultName" title={item.did}>
          {item.name}
        </span>
        <span className="jp-DLaaS-resultLine">
          <span className="jp-DLaaS-resultMeta">{details}</span>
          <AvailabilityBadge
            availability={availability}
            trans={trans}
            onRequestOnly={onRequestOnly}
          />
        </span>
      </button>
      <button
        type="button"
        className="jp-DLaaS-iconButton jp-DLaaS-makeAvailableButton"
        tabIndex={focused ? 0 : -1}
        aria-label={trans.__('Make %1 available', item.did)}
        title={trans.__('Make available…')}
        onClick={() =>
          void actions.makeAvailable({
            did: item.did,
            bytes: item.bytes,
            length: item.length,
            availability
          })
        }
      >
        <downloadIcon.react tag="span" elementSize="normal" />
      </button>
    </div>
  );
}
