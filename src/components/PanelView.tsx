import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, settingsIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { DataLakeModel } from '../models/datalake';
import { PanelTab } from '../models/panelState';
import { IDataLakeActions } from '../tokens';
import { NotebookTab, notebookTabLabel } from '../attachments/AttachmentsView';
import { BasketTab, basketTabLabel } from '../basket/BasketView';
import { AlertMessage } from './AlertMessage';
import { DetailsView } from './DetailsView';
import { IdentityBar } from './IdentityBar';
import { SearchView } from './SearchView';
import { ProblemMessages, StatusView } from './StatusView';
import { WatchedView } from './WatchedView';

export interface IPanelViewProps {
  model: DataLakeModel;
  actions: IDataLakeActions;
  trans: TranslationBundle;
}

/**
 * Content of the Data Lake panel: header, problems, who the user is, then
 * the details of a DID or the tabs Search / My data / Instances.
 * Whatever the model's state, something explains it: the panel is never blank.
 */
export function PanelView(props: IPanelViewProps): JSX.Element {
  const { model, actions, trans } = props;
  const [refreshing, setRefreshing] = React.useState(false);

  const refresh = async (): Promise<void> => {
    setRefreshing(true);
    try {
      await model.refreshAll();
    } finally {
      setRefreshing(false);
    }
  };

  return (
    <div className="jp-DLaaS-root">
      <header className="jp-DLaaS-header">
        <h2 className="jp-DLaaS-title">{trans.__('Data Lake')}</h2>
        <div className="jp-DLaaS-headerButtons">
          <button
            type="button"
            className="jp-DLaaS-iconButton"
            aria-label={trans.__('Refresh Data Lake status')}
            title={trans.__('Refresh status, sign-in and watched data')}
            disabled={refreshing}
            aria-busy={refreshing}
            onClick={() => void refresh()}
          >
            <refreshIcon.react tag="span" elementSize="normal" />
          </button>
          <button
            type="button"
            className="jp-DLaaS-iconButton"
            aria-label={trans.__('Data Lake settings')}
            title={trans.__('Data Lake settings')}
            onClick={() => actions.openSettings()}
          >
            <settingsIcon.react tag="span" elementSize="normal" />
          </button>
        </div>
      </header>
      <div className="jp-DLaaS-top">
        <ProblemMessages model={model} trans={trans} />
        <IdentityBar model={model} trans={trans} />
      </div>
      {model.detailsOpen ? (
        <div className="jp-DLaaS-body">
          <DetailsView model={model} actions={actions} trans={trans} />
        </div>
      ) : (
        <Tabs {...props} />
      )}
    </div>
  );
}

/**
 * Shows a rendering error instead of a blank panel, with a way to try again.
 */
export class PanelErrorBoundary extends React.Component<
  { trans: TranslationBundle; children: React.ReactNode },
  { error: Error | null }
> {
  constructor(props: { trans: TranslationBundle; children: React.ReactNode }) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  componentDidCatch(error: Error): void {
    console.error('escape-dlaas: the Data Lake panel failed to render.', error);
  }

  render(): React.ReactNode {
    const { trans } = this.props;
    if (this.state.error) {
      return (
        <AlertMessage kind="error" label={trans.__('Panel error')}>
          <p>
            {trans.__(
              'The Data Lake panel hit an error: %1',
              this.state.error.message
            )}
          </p>
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => this.setState({ error: null })}
          >
            {trans.__('Try again')}
          </button>
        </AlertMessage>
      );
    }
    return this.props.children;
  }
}

function Tabs(props: IPanelViewProps): JSX.Element {
  const { model, actions, trans } = props;
  const id = React.useId();
  const watchedCount = model.watch.entries.filter(
    entry => entry.instance === model.instanceName
  ).length;
  const tabs: [PanelTab, string][] = [
    ['search', trans.__('Search')],
    [
      'watched',
      watchedCount > 0
        ? trans.__('My data (%1)', watchedCount)
        : trans.__('My data')
    ],
    ['notebook', notebookTabLabel(model, trans)],
    ['basket', basketTabLabel(trans)],
    ['instances', trans.__('Instances')]
  ];
  const current = model.tab;
  const select = (index: number) => {
    const tab = tabs[(index + tabs.length) % tabs.length][0];
    model.tab = tab;
    document.getElementById(`${id}-tab-${tab}`)?.focus();
  };
  const currentIndex = tabs.findIndex(([tab]) => tab === current);

  return (
    <>
      <div
        className="jp-DLaaS-tabs"
        role="tablist"
        aria-label={trans.__('Data Lake views')}
        onKeyDown={event => {
          if (event.key === 'ArrowRight') {
            event.preventDefault();
            select(currentIndex + 1);
          } else if (event.key === 'ArrowLeft') {
            event.preventDefault();
            select(currentIndex - 1);
          }
        }}
      >
        {tabs.map(([tab, label]) => (
          <button
            key={tab}
            id={`${id}-tab-${tab}`}
            type="button"
            role="tab"
            className={`jp-DLaaS-tab ${tab === current ? 'jp-mod-current' : ''}`}
            aria-selected={tab === current}
            aria-controls={`${id}-panel`}
            tabIndex={tab === current ? 0 : -1}
            onClick={() => (model.tab = tab)}
          >
            {label}
          </button>
        ))}
      </div>
      <div
        id={`${id}-panel`}
        className="jp-DLaaS-body"
        role="tabpanel"
        aria-labelledby={`${id}-tab-${current}`}
      >
        {current === 'search' && (
          <SearchView model={model} actions={actions} trans={trans} />
        )}
        {current === 'watched' && <WatchedView model={model} trans={trans} />}
        {current === 'notebook' && <NotebookTab model={model} trans={trans} />}
        {current === 'basket' && <BasketTab model={model} trans={trans} />}
        {current === 'instances' && <StatusView model={model} trans={trans} />}
      </div>
    </>
  );
}
