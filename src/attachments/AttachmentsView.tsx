import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon, refreshIcon, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { AlertMessage } from '../components/AlertMessage';
import { AvailabilityBadge } from '../components/AvailabilityBadge';
import { didName, formatBytes, formatDateTime } from '../format';
import { DataLakeModel } from '../models/datalake';
import {
  Attachment,
  attachmentKey,
  describeQuery,
  IQueryAttachment
} from './metadata';
import { AttachmentsModel } from './model';

/**
 * What the "This notebook" tab asks of JupyterLab (dialogs, notifications);
 * the plugin gives it AttachmentCommands, tests a fake.
 */
export interface IAttachmentsActions {
  /** Ask for target and lifetime, show the total, then make every attached DID available. */
  makeAllAvailable(): Promise<void>;
  /** Attach a DID to the active notebook, saying what went wrong if anything. */
  attachDid(did: string, instance?: string): Promise<void>;
  /** Attach the panel's current search to the active notebook. */
  attachSearch(): Promise<void>;
}

/** The attachments model of a Data Lake panel's model, set by the attachments plugin. */
export const ATTACHMENTS = new WeakMap<
  DataLakeModel,
  { model: AttachmentsModel; actions: IAttachmentsActions }
>();

/** The tab's label: "This notebook", with the number of attachments when there are some. */
export function notebookTabLabel(
  lake: DataLakeModel,
  trans: TranslationBundle
): string {
  const count = ATTACHMENTS.get(lake)?.model.attachments.length ?? 0;
  return count > 0
    ? trans.__('This notebook (%1)', count)
    : trans.__('This notebook');
}

export interface IAttachButtonProps {
  model: DataLakeModel;
  did: string;
  instance: string;
  trans: TranslationBundle;
}

/** "Attach to notebook" in a DID's details (nothing when the attachments plugin does not run). */
export function AttachButton(props: IAttachButtonProps): JSX.Element | null {
  const { model, did, instance, trans } = props;
  const registered = ATTACHMENTS.get(model);
  if (!registered) {
    return null;
  }
  return (
    <button
      type="button"
      className="jp-mod-styled"
      title={trans.__(
        'Keep %1 in the active notebook: it travels with the notebook, and escape_dlaas.attached() gives its local paths',
        did
      )}
      onClick={() => void registered.actions.attachDid(did, instance)}
    >
      {trans.__('Attach to notebook')}
    </button>
  );
}

export interface INotebookTabProps {
  model: DataLakeModel;
  trans: TranslationBundle;
}

/** The Data Lake panel's "This notebook" tab (rendered only when the attachments plugin runs). */
export function NotebookTab(props: INotebookTabProps): JSX.Element {
  const registered = ATTACHMENTS.get(props.model);
  if (!registered) {
    return (
      <p className="jp-DLaaS-hint">
        {props.trans.__('Notebook attachments are not available.')}
      </p>
    );
  }
  return (
    <UseSignal signal={registered.model.changed}>
      {() => (
        <AttachmentsView
          model={registered.model}
          actions={registered.actions}
          trans={props.trans}
        />
      )}
    </UseSignal>
  );
}

export interface IAttachmentsViewProps {
  model: AttachmentsModel;
  actions: IAttachmentsActions;
  trans: TranslationBundle;
}

/** The data the active notebook carries, its availability, and what to do with it. */
export function AttachmentsView(props: IAttachmentsViewProps): JSX.Element {
  const { model, actions, trans } = props;
  const document = model.document;
  if (document === null) {
    return (
      <div className="jp-DLaaS-attachments">
        <p className="jp-DLaaS-hint">
          {trans.__(
            'Open a notebook: the data attached to it shows here, with its availability. Attach data from a search result or its details ("Attach to notebook"), or from the notebook toolbar.'
          )}
        </p>
      </div>
    );
  }
  const totals = model.totals;
  const attachments = model.attachments;
  return (
    <div className="jp-DLaaS-attachments">
      <p className="jp-DLaaS-attachmentsNotebook" title={document.path}>
        {trans.__('Data carried by %1', document.path)}
      </p>
      {model.readOnly && (
        <AlertMessage kind="warning">
          <p>
            {trans.__(
              'This notebook was saved by a newer version of escape-dlaas: its attachments are shown but cannot be changed here.'
            )}
          </p>
        </AlertMessage>
      )}
      {model.skipped > 0 && (
        <AlertMessage kind="warning">
          <p>
            {trans._n(
              '%1 attachment in this notebook could not be read; it is left out (and dropped at the next change).',
              '%1 attachments in this notebook could not be read; they are left out (and dropped at the next change).',
              model.skipped
            )}
          </p>
        </AlertMessage>
      )}
      {attachments.length === 0 ? (
        <p className="jp-DLaaS-hint">
          {trans.__(
            'No data attached yet. Attached data travels with the notebook (its metadata): whoever opens it sees it here and can make it available, and escape_dlaas.attached() gives its local paths in the kernel.'
          )}
        </p>
      ) : (
        <>
          <div
            className="jp-DLaaS-summary"
            role="status"
            aria-label={trans.__('Attached data in total')}
          >
            <span>{trans._n('%1 data set', '%1 data sets', totals.count)}</span>
            <span>{formatBytes(totals.bytes)}</span>
            <span>
              {totals.pending.length === 0
                ? trans.__('all at the notebook')
                : trans.__(
                    '%1 not at the notebook',
                    totals.pending.length - totals.unknownAvailability
                  )}
            </span>
          </div>
          <div
            className="jp-DLaaS-actions"
            role="toolbar"
            aria-label={trans.__('Actions on the attached data')}
          >
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept"
              disabled={totals.pending.length === 0}
              onClick={() => void actions.makeAllAvailable()}
            >
              {trans.__('Make all available…')}
            </button>
          </div>
          <ul
            className="jp-DLaaS-attachmentList"
            aria-label={trans.__('Attached data')}
          >
            {attachments.map(attachment => (
              <AttachmentItem
                key={attachmentKey(attachment)}
                attachment={attachment}
                {...props}
              />
            ))}
          </ul>
        </>
      )}
      <AttachForm {...props} />
    </div>
  );
}

function AttachmentItem(
  props: IAttachmentsViewProps & { attachment: Attachment }
): JSX.Element {
  const { model, trans, attachment } = props;
  const key = attachmentKey(attachment);
  const dids = model.didsOf(attachment);
  const label =
    attachment.kind === 'did' ? attachment.did : describeQuery(attachment);
  return (
    <li className="jp-DLaaS-attachment" aria-label={label}>
      <div className="jp-DLaaS-attachmentHead">
        <span className="jp-DLaaS-attachmentKind">
          {attachment.kind === 'did' ? trans.__('Data') : trans.__('Search')}
        </span>
        <span className="jp-DLaaS-attachmentLabel" title={label}>
          {label}
        </span>
        {attachment.kind === 'query' && (
          <button
            type="button"
            className="jp-DLaaS-iconButton"
            aria-label={trans.__('Search again for %1', label)}
            title={trans.__('Search again')}
            disabled={model.isResolving(key) || model.readOnly}
            aria-busy={model.isResolving(key)}
            onClick={() => void model.resolve(key)}
          >
            <refreshIcon.react tag="span" elementSize="small" />
          </button>
        )}
        <button
          type="button"
          className="jp-DLaaS-iconButton"
          aria-label={trans.__('Detach %1', label)}
          title={trans.__('Detach from the notebook')}
          disabled={model.readOnly}
          onClick={() => model.detach(key)}
        >
          <closeIcon.react tag="span" elementSize="small" />
        </button>
      </div>
      {attachment.kind === 'query' && (
        <QueryState query={attachment} {...props} />
      )}
      {model.errorOf(key) && (
        <AlertMessage kind="error">
          <p>{model.errorOf(key)}</p>
        </AlertMessage>
      )}
      {dids.length > 0 && (
        <ul className="jp-DLaaS-attachmentDids">
          {dids.map(entry => (
            <li
              key={entry.did}
              className="jp-DLaaS-watchedItem"
              aria-label={entry.did}
            >
              <span className="jp-DLaaS-resultName" title={entry.did}>
                {attachment.kind === 'did' ? entry.did : didName(entry.did)}
              </span>
              <AvailabilityBadge
                availability={entry.availability}
                trans={trans}
              />
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function QueryState(
  props: IAttachmentsViewProps & { query: IQueryAttachment }
): JSX.Element {
  const { model, trans, query } = props;
  const resolved = query.resolved;
  let text: string;
  if (model.isResolving(attachmentKey(query))) {
    text = trans.__('Searching…');
  } else if (resolved === null) {
    text = trans.__('Not searched yet: press "Search again".');
  } else {
    const at = new Date(resolved.at);
    text = trans._n(
      'Found %1 data set on %2.',
      'Found %1 data sets on %2.',
      resolved.dids.length,
      Number.isNaN(at.getTime()) ? resolved.at : formatDateTime(at)
    );
    if (resolved.truncated) {
      text += ' ' + trans.__('(more matched: only these are kept)');
    }
  }
  return <p className="jp-DLaaS-hint">{text}</p>;
}

/** Attach a DID by name, or the panel's current search. */
function AttachForm(props: IAttachmentsViewProps): JSX.Element {
  const { model, actions, trans } = props;
  const [did, setDid] = React.useState('');
  const id = React.useId();
  return (
    <form
      className="jp-DLaaS-attachForm"
      aria-label={trans.__('Attach data to this notebook')}
      onSubmit={event => {
        event.preventDefault();
        const text = did.trim();
        if (text) {
          void actions.attachDid(text).then(() => setDid(''));
        }
      }}
    >
      <label className="jp-DLaaS-field" htmlFor={`${id}-did`}>
        {trans.__('Attach data (scope:name)')}
      </label>
      <div className="jp-DLaaS-formRow">
        <input
          id={`${id}-did`}
          className="jp-DLaaS-input"
          type="text"
          value={did}
          placeholder={trans.__('e.g. lofar:L2023_712342_HBA')}
          disabled={model.readOnly}
          onChange={event => setDid(event.target.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled"
          disabled={model.readOnly || !did.trim()}
        >
          {trans.__('Attach')}
        </button>
      </div>
      <button
        type="button"
        className="jp-mod-styled"
        disabled={model.readOnly}
        title={trans.__(
          'Attach the search of the Search tab (name, scope, type, metadata filter); its results are found again when asked'
        )}
        onClick={() => void actions.attachSearch()}
      >
        {trans.__('Attach the current search')}
      </button>
    </form>
  );
}
