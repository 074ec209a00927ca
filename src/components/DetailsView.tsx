import { TranslationBundle } from '@jupyterlab/translation';
import { caretLeftIcon, refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

import {
  didName,
  extractDoi,
  formatBytes,
  formatFileCount,
  formatMetadataValue
} from '../format';
import { AttachButton } from '../attachments/AttachmentsView';
import { DataLakeModel } from '../models/datalake';
import { IDataLakeActions } from '../tokens';
import { AlertMessage } from './AlertMessage';
import { AvailabilityBadge } from './AvailabilityBadge';
import { FilesSection } from './DetailsFiles';
import { RulesSection } from './DetailsRules';
import { typeLabel } from './SearchView';

export { fileStateLabel } from './DetailsFiles';
export { RuleProgress, RulesSection } from './DetailsRules';

export interface IDetailsViewProps {
  model: DataLakeModel;
  actions: IDataLakeActions;
  trans: TranslationBundle;
  /** Current time (ms), for relative expiry dates. */
  now?: number;
}

/** One DID: summary, actions, metadata, rules with progress, files with replicas. */
export function DetailsView(props: IDetailsViewProps): JSX.Element | null {
  const { model, actions, trans } = props;
  const detailsModel = model.details;
  const did = detailsModel.did;
  const headingId = `jp-DLaaS-details-${React.useId()}`;
  if (did === null) {
    return null;
  }
  const details = detailsModel.details;
  const instance = detailsModel.instance ?? '';
  const availability = model.availabilityOf(
    did,
    details?.availability ?? null,
    instance
  );
  const hasLocal = (availability?.files.at_notebook ?? 0) > 0;
  const watched = model.watch.has(instance, did);
  const loading = detailsModel.state === 'loading';

  return (
    <section className="jp-DLaaS-detailsView" aria-labelledby={headingId}>
      <div className="jp-DLaaS-detailsHeader">
        <button
          type="button"
          className="jp-DLaaS-iconButton"
          aria-label={trans.__('Back to the list')}
          title={trans.__('Back to the list')}
          onClick={() => model.closeDetails()}
        >
          <caretLeftIcon.react tag="span" elementSize="normal" />
        </button>
        <h3 id={headingId} className="jp-DLaaS-detailsTitle" title={did}>
          {didName(did)}
        </h3>
        <button
          type="button"
          className="jp-DLaaS-iconButton"
          aria-label={trans.__('Refresh details')}
          title={trans.__('Refresh details')}
          disabled={loading}
          aria-busy={loading}
          onClick={() => void detailsModel.refresh()}
        >
          <refreshIcon.react tag="span" elementSize="normal" />
        </button>
      </div>
      <p className="jp-DLaaS-didLine">
        <code>{did}</code>
      </p>
      {detailsModel.error && (
        <AlertMessage
          kind="error"
          label={trans.__('Could not load the details')}
        >
          <p>{detailsModel.error.message}</p>
        </AlertMessage>
      )}
      {details === null && loading && (
        <p className="jp-DLaaS-message" role="status">
          {trans.__('Loading…')}
        </p>
      )}
      {details && (
        <>
          <div className="jp-DLaaS-summary" role="status" aria-live="polite">
            <span className="jp-DLaaS-typeName">
              {typeLabel(details.type, trans)}
            </span>
            <span>{formatBytes(details.bytes)}</span>
            {details.type !== 'FILE' && (
              <span>{formatFileCount(details.length, trans)}</span>
            )}
            <AvailabilityBadge availability={availability} trans={trans} />
          </div>
          <LastFailure
            model={model}
            did={did}
            instance={instance}
            trans={trans}
          />
          {availability?.state === 'STUCK' && availability.reason && (
            <AlertMessage kind="warning">
              <p>{trans.__('Rucio says: %1', availability.reason)}</p>
            </AlertMessage>
          )}
          <div
            className="jp-DLaaS-actions"
            role="toolbar"
            aria-label={trans.__('Actions on %1', did)}
          >
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept"
              onClick={() =>
                void actions.makeAvailable({
                  did,
                  bytes: details.bytes,
                  length: details.length,
                  availability
                })
              }
            >
              {trans.__('Make available…')}
            </button>
            <button
              type="button"
              className="jp-mod-styled"
              disabled={!hasLocal}
              onClick={() => void actions.openInFileBrowser(did)}
            >
              {trans.__('Open in file browser')}
            </button>
            <button
              type="button"
              className="jp-mod-styled"
              disabled={!hasLocal}
              onClick={() => void actions.copyPaths(did)}
            >
              {trans.__('Copy path')}
            </button>
            <button
              type="button"
              className="jp-mod-styled"
              disabled={!hasLocal || !actions.canInsertSnippet}
              title={
                actions.canInsertSnippet
                  ? trans.__(
                      'Insert a cell defining paths = [...] below the active cell'
                    )
                  : trans.__('Open a notebook to insert the paths into it')
              }
              onClick={() => void actions.insertSnippet(did)}
            >
              {trans.__('Insert paths in notebook')}
            </button>
            <AttachButton
              model={model}
              did={did}
              instance={instance}
              trans={trans}
            />
            <button
              type="button"
              className="jp-mod-styled"
              aria-pressed={watched}
              onClick={() =>
                watched
                  ? model.watch.unwatch(instance, did)
                  : model.watch.watch(instance, did, { availability })
              }
            >
              {watched ? trans.__('Stop watching') : trans.__('Watch')}
            </button>
          </div>
          <MetadataTable metadata={details.metadata} trans={trans} />
          <RulesSection
            rules={details.rules}
            account={model.identity.whoami?.account ?? null}
            actions={actions}
            trans={trans}
            now={props.now}
          />
          <FilesSection model={model} actions={actions} trans={trans} />
        </>
      )}
    </section>
  );
}

/** Why the last "make available" of this DID failed, in full (a notification may cut it). */
function LastFailure(props: {
  model: DataLakeModel;
  did: string;
  instance: string;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { model, did, instance, trans } = props;
  const transfer = model.transfers.find(instance, did);
  if (!transfer || transfer.state !== 'failed') {
    return null;
  }
  return (
    <AlertMessage kind="error" label={trans.__('Make available failed')}>
      <p>
        {trans.__('Could not make it available at %1:', transfer.target.label)}
      </p>
      <p>
        {transfer.error?.message ??
          transfer.stuckReason ??
          trans.__('Rucio gives no reason')}
      </p>
    </AlertMessage>
  );
}

/** The scientist's metadata; a DOI is a link to doi.org. */
export function MetadataTable(props: {
  metadata: Record<string, unknown>;
  trans: TranslationBundle;
}): JSX.Element {
  const { metadata, trans } = props;
  const entries = Object.entries(metadata).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  const headingId = `jp-DLaaS-metadata-${React.useId()}`;
  return (
    <section className="jp-DLaaS-section" aria-labelledby={headingId}>
      <h4 id={headingId} className="jp-DLaaS-sectionTitle">
        {trans.__('Metadata')}
      </h4>
      {entries.length === 0 ? (
        <p className="jp-DLaaS-hint">{trans.__('No metadata.')}</p>
      ) : (
        <table className="jp-DLaaS-metadata" aria-labelledby={headingId}>
          <tbody>
            {entries.map(([key, value]) => {
              const doi = /doi/i.test(key) ? extractDoi(value) : null;
              return (
                <tr key={key}>
                  <th scope="row">{key}</th>
                  <td>
                    {doi ? (
                      <a
                        href={`https://doi.org/${doi}`}
                        target="_blank"
                        rel="noopener noreferrer"
                        title={trans.__('Open the DOI %1', doi)}
                      >
                        {doi}
                      </a>
                    ) : (
                      formatMetadataValue(value)
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
