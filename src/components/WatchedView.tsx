import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { didName } from '../format';
import { DataLakeModel } from '../models/datalake';
import { AlertMessage } from './AlertMessage';
import { AvailabilityBadge } from './AvailabilityBadge';

export interface IWatchedViewProps {
  model: DataLakeModel;
  trans: TranslationBundle;
}

/** "My data": the DIDs the panel keeps watching, with their availability. */
export function WatchedView(props: IWatchedViewProps): JSX.Element {
  const { model, trans } = props;
  const instance = model.instanceName;
  const watch = model.watch;
  const entries = watch.entries.filter(entry => entry.instance === instance);
  return (
    <div className="jp-DLaaS-watched">
      {watch.error && (
        <AlertMessage
          kind="error"
          label={trans.__('Availability check failed')}
        >
          <p>
            {trans.__(
              'Could not update the availability of your data: %1',
              watch.error.message
            )}
          </p>
          <p>{trans.__('The panel tries again, less and less often.')}</p>
        </AlertMessage>
      )}
      {entries.length === 0 ? (
        <p className="jp-DLaaS-hint">
          {trans.__(
            'Nothing watched yet. Data you make available, or choose to watch in its details, shows here with its state at the notebook.'
          )}
        </p>
      ) : (
        <ul
          className="jp-DLaaS-watchedList"
          aria-label={trans.__('Watched data')}
        >
          {entries.map(entry => (
            <li
              key={entry.did}
              className="jp-DLaaS-watchedItem"
              aria-label={entry.did}
            >
              <button
                type="button"
                className="jp-DLaaS-resultMain"
                title={trans.__('Show the details of %1', entry.did)}
                onClick={() =>
                  void model.openDetails(entry.did, entry.instance)
                }
              >
                <span className="jp-DLaaS-resultName" title={entry.did}>
                  {didName(entry.did)}
                </span>
                <span className="jp-DLaaS-resultMeta">
                  {entry.did.split(':')[0]}
                </span>
              </button>
              <AvailabilityBadge
                availability={entry.availability}
                trans={trans}
              />
              <button
                type="button"
                className="jp-DLaaS-iconButton"
                aria-label={trans.__('Stop watching %1', entry.did)}
                title={trans.__('Stop watching')}
                onClick={() => watch.unwatch(entry.instance, entry.did)}
              >
                <closeIcon.react tag="span" elementSize="small" />
              </button>
            </li>
          ))}
        </ul>
      )}
      {watch.lastUpdated && entries.length > 0 && (
        <p className="jp-DLaaS-lastChecked">
          {trans.__('Last checked:')}{' '}
          <time dateTime={watch.lastUpdated.toISOString()}>
            {watch.lastUpdated.toLocaleTimeString()}
          </time>
        </p>
      )}
    </div>
  );
}
