import { TranslationBundle } from '@jupyterlab/translation';
import { UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { IBasketItem } from '../api/types';
import { AlertMessage } from '../components/AlertMessage';
import { AvailabilityBadge } from '../components/AvailabilityBadge';
import { formatBytes } from '../format';
import { DataLakeModel } from '../models/datalake';
import { BasketModel } from './model';

/** What the tab's buttons do (dialogs); the plugin gives the real one, tests a fake. */
export interface IBasketActions {
  makeAllAvailable(): Promise<void>;
}

/** The basket model and actions of each panel model (filled in by the basket plugin). */
export const BASKETS = new WeakMap<
  DataLakeModel,
  { model: BasketModel; actions: IBasketActions }
>();

/** The panel tab's label. */
export function basketTabLabel(trans: TranslationBundle): string {
  return trans.__('Basket');
}

/** The panel's "Basket" tab: finds the basket model of this panel. */
export function BasketTab(props: {
  model: DataLakeModel;
  trans: TranslationBundle;
}): JSX.Element {
  const registered = BASKETS.get(props.model);
  if (!registered) {
    return (
      <p className="jp-DLaaS-hint">
        {props.trans.__('The ESAP basket is not available.')}
      </p>
    );
  }
  return (
    <UseSignal signal={registered.model.changed}>
      {() => (
        <BasketView
          lake={props.model}
          model={registered.model}
          actions={registered.actions}
          trans={props.trans}
        />
      )}
    </UseSignal>
  );
}

export interface IBasketViewProps {
  lake: DataLakeModel;
  model: BasketModel;
  actions: IBasketActions;
  trans: TranslationBundle;
}

/** The ESAP basket: Rucio items with their availability, other items as such, and "make all available". */
export function BasketView(props: IBasketViewProps): JSX.Element {
  const { lake, model, actions, trans } = props;
  React.useEffect(() => {
    if (model.state === 'idle') {
      void model.load();
    }
  }, [model]);
  const basket = model.basket;
  const reload = (
    <button
      type="button"
      className="jp-mod-styled"
      disabled={model.state === 'loading'}
      onClick={() => void model.load()}
    >
      {trans.__('Reload basket')}
    </button>
  );
  if (model.state === 'error' && model.error) {
    return (
      <div className="jp-DLaaS-basket">
        <AlertMessage kind="error" label={trans.__('Basket unavailable')}>
          <p>{model.error.message}</p>
          <p>
            {trans.__(
              'Search, My data and making data available work without the basket.'
            )}
          </p>
        </AlertMessage>
        {reload}
      </div>
    );
  }
  if (basket === null) {
    return (
      <p className="jp-DLaaS-hint" role="status">
        {trans.__('Loading your basket…')}
      </p>
    );
  }
  if (!basket.enabled) {
    return (
      <p className="jp-DLaaS-hint">
        {trans.__(
          'This site has no ESAP basket configured: data picked in ESAP does not reach this session.'
        )}
      </p>
    );
  }
  const totals = model.totals;
  return (
    <div className="jp-DLaaS-basket">
      <p className="jp-DLaaS-hint">
        {basket.source
          ? basket.source.kind === 'esap'
            ? trans.__('Your basket in ESAP (%1).', basket.source.location)
            : trans.__(
                'The basket handed over at launch (%1).',
                basket.source.location
              )
          : basket.note}
      </p>
      {basket.items.length === 0 ? (
        <p className="jp-DLaaS-hint">
          {trans.__(
            'Your basket is empty. Data you put in your basket in ESAP shows here.'
          )}
        </p>
      ) : (
        <>
          <div className="jp-DLaaS-basketTotals" role="status">
            {totals.pending.length === 0
              ? trans.__(
                  'All %1 Rucio items are at the notebook.',
                  totals.count
                )
              : totals.unknownSizes > 0
                ? trans._n(
                    '%1 Rucio item not at the notebook yet: %2 to copy, and %3 of unknown size.',
                    '%1 Rucio items not at the notebook yet: %2 to copy, and %3 of unknown size.',
                    totals.pending.length,
                    formatBytes(totals.bytesToCopy),
                    totals.unknownSizes
                  )
                : trans._n(
                    '%1 Rucio item not at the notebook yet: %2 to copy.',
                    '%1 Rucio items not at the notebook yet: %2 to copy.',
                    totals.pending.length,
                    formatBytes(totals.bytesToCopy)
                  )}
          </div>
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            disabled={totals.pending.length === 0}
            onClick={() => void actions.makeAllAvailable()}
          >
            {trans.__('Make all available')}
          </button>
          <ul
            className="jp-DLaaS-watchedList jp-DLaaS-basketList"
            aria-label={trans.__('Basket')}
          >
            {basket.items.map(item => (
              <BasketRow
                key={item.index}
                item={item}
                lake={lake}
                model={model}
                trans={trans}
              />
            ))}
          </ul>
          {basket.truncated && (
            <p className="jp-DLaaS-hint">
              {trans.__(
                'Only the first %1 items are shown.',
                basket.items.length
              )}
            </p>
          )}
        </>
      )}
      {reload}
    </div>
  );
}

function BasketRow(props: {
  item: IBasketItem;
  lake: DataLakeModel;
  model: BasketModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { item, lake, model, trans } = props;
  const name = item.label || item.did || trans.__('(no name)');
  if (item.kind === 'rucio' && item.found && item.did) {
    const did = item.did;
    return (
      <li className="jp-DLaaS-watchedItem jp-DLaaS-basketItem" aria-label={did}>
        <button
          type="button"
          className="jp-DLaaS-resultMain"
          title={trans.__('Show the details of %1', did)}
          onClick={() =>
            void lake.openDetails(did, model.basket?.instance ?? undefined)
          }
        >
          <span className="jp-DLaaS-resultName" title={did}>
            {name}
          </span>
          <span className="jp-DLaaS-resultMeta">
            {typeof item.bytes === 'number'
              ? `${did} · ${formatBytes(item.bytes)}`
              : did}
          </span>
        </button>
        {item.embargo ? (
          <span className="jp-DLaaS-resultMeta jp-DLaaS-basketNote">
            {trans.__('Embargoed until %1', item.embargo.until)}
          </span>
        ) : (
          <AvailabilityBadge
            availability={model.availabilityOf(item)}
            trans={trans}
          />
        )}
      </li>
    );
  }
  const note =
    item.kind === 'other'
      ? trans.__('Not Rucio data (archive %1)', item.archive ?? '?')
      : item.kind === 'rucio'
        ? trans.__('Not found in Rucio: %1', item.problem ?? '')
        : trans.__('Unreadable item: %1', item.problem ?? '');
  return (
    <li
      className="jp-DLaaS-watchedItem jp-DLaaS-basketItem jp-mod-notRucio"
      aria-label={item.did ?? name}
    >
      <span className="jp-DLaaS-resultMain">
        <span className="jp-DLaaS-resultName" title={name}>
          {name}
        </span>
        <span className="jp-DLaaS-resultMeta">{note}</span>
      </span>
    </li>
  );
}
