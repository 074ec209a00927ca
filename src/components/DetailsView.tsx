import { TranslationBundle } from '@jupyterlab/translation';
import { caretLeftIcon, refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

import {
  didName,
  extractDoi,
  formatBytes,
  formatDateTime,
  formatFileCount,
  formatMetadataValue,
  formatRelative,
  modClass,
  parseRucioDate
} from '../format';
import { AttachButton } from '../attachments/AttachmentsView';
import { IDidFile, IRule } from '../api/types';
import { DataLakeModel } from '../models/datalake';
import { IDataLakeActions } from '../tokens';
import { AlertMessage } from './AlertMessage';
import { AvailabilityBadge } from './AvailabilityBadge';
import { typeLabel } from './SearchView';

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

/** The rules on the DID, all accounts: state, progress, expiry; the user's own can be extended or cancelled. */
export function RulesSection(props: {
  rules: IRule[];
  account: string | null;
  actions: IDataLakeActions;
  trans: TranslationBundle;
  now?: number;
}): JSX.Element {
  const { rules, account, actions, trans } = props;
  const now = props.now ?? Date.now();
  const headingId = `jp-DLaaS-rules-${React.useId()}`;
  // The user's rules first, then by target.
  const sorted = [...rules].sort(
    (a, b) =>
      Number(b.account === account) - Number(a.account === account) ||
      a.rse_expression.localeCompare(b.rse_expression)
  );
  return (
    <section className="jp-DLaaS-section" aria-labelledby={headingId}>
      <h4 id={headingId} className="jp-DLaaS-sectionTitle">
        {trans.__('Rules (%1)', rules.length)}
      </h4>
      {rules.length === 0 ? (
        <p className="jp-DLaaS-hint">
          {trans.__('No rule keeps copies of this data.')}
        </p>
      ) : (
        <ul className="jp-DLaaS-rules" aria-labelledby={headingId}>
          {sorted.map(rule => (
            <RuleItem
              key={rule.id}
              rule={rule}
              mine={account !== null && rule.account === account}
              actions={actions}
              trans={trans}
              now={now}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function RuleItem(props: {
  rule: IRule;
  mine: boolean;
  actions: IDataLakeActions;
  trans: TranslationBundle;
  now: number;
}): JSX.Element {
  const { rule, mine, actions, trans, now } = props;
  const expires = parseRucioDate(rule.expires_at);
  // The server says whether Extend and Cancel can work (the account's own
  // unlocked rule, on a lake that lets users do it); else, whose rule it is.
  const canExtend = rule.can_extend ?? mine;
  const canCancel = rule.can_cancel ?? mine;
  const limits = mine ? ruleLimits(rule, canExtend, canCancel, trans) : null;
  return (
    <li
      className="jp-DLaaS-rule"
      aria-label={trans.__('Rule at %1, %2', rule.rse_expression, rule.state)}
      data-rule-id={rule.id}
    >
      <div className="jp-DLaaS-ruleHead">
        <strong className="jp-DLaaS-ruleTarget">{rule.rse_expression}</strong>
        <span className={`jp-DLaaS-ruleState ${modClass(rule.state)}`}>
          {rule.state}
        </span>
        {rule.towards_notebook && (
          <span className="jp-DLaaS-tag">{trans.__('notebook')}</span>
        )}
        {rule.locked && (
          <span className="jp-DLaaS-tag">{trans.__('locked')}</span>
        )}
      </div>
      <RuleProgress rule={rule} trans={trans} />
      <p className="jp-DLaaS-ruleMeta">
        {mine ? trans.__('Your rule') : trans.__('Account %1', rule.account)}
        {' · '}
        {expires ? (
          <span className="jp-DLaaS-expiry">
            {trans.__('expires %1', formatRelative(expires, now, trans))}{' '}
            <time dateTime={expires.toISOString()}>
              ({formatDateTime(expires)})
            </time>
          </span>
        ) : (
          <span className="jp-DLaaS-expiry">{trans.__('never expires')}</span>
        )}
      </p>
      {rule.error && (
        <p className="jp-DLaaS-ruleError" role="note">
          {trans.__('Rucio says: %1', rule.error)}
        </p>
      )}
      {limits && (
        <p className="jp-DLaaS-ruleNote" role="note">
          {limits}
        </p>
      )}
      {(canExtend || canCancel) && (
        <div className="jp-DLaaS-ruleActions">
          {canExtend && (
            <button
              type="button"
              className="jp-mod-styled"
              aria-label={trans.__(
                'Extend the rule at %1',
                rule.rse_expression
              )}
              onClick={() => void actions.extendRule(rule)}
            >
              {trans.__('Extend…')}
            </button>
          )}
          {canCancel && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-warn"
              aria-label={trans.__(
                'Cancel the rule at %1',
                rule.rse_expression
              )}
              onClick={() => void actions.cancelRule(rule)}
            >
              {trans.__('Cancel rule…')}
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** Why the user cannot extend or cancel their own rule, or null when they can. */
function ruleLimits(
  rule: IRule,
  canExtend: boolean,
  canCancel: boolean,
  trans: TranslationBundle
): string | null {
  if (rule.locked) {
    return trans.__(
      'This rule is locked: Rucio keeps it, and it cannot be extended or cancelled from here.'
    );
  }
  if (!canExtend && !canCancel) {
    return trans.__(
      'This data lake does not let users extend or cancel rules: the copies are kept until the rule expires.'
    );
  }
  if (!canExtend) {
    return trans.__(
      'This data lake does not let users extend rules: the copies are kept until the rule expires; make the data available again after that.'
    );
  }
  if (!canCancel) {
    return trans.__(
      'This data lake does not let users cancel rules: Rucio removes this one when it expires.'
    );
  }
  return null;
}

/** Locks of a rule as one bar: OK, replicating, stuck. */
export function RuleProgress(props: {
  rule: IRule;
  trans: TranslationBundle;
}): JSX.Element {
  const { rule, trans } = props;
  const { ok, replicating, stuck } = rule.locks;
  const total = ok + replicating + stuck;
  const share = (count: number) =>
    total > 0 ? `${(100 * count) / total}%` : '0%';
  const text = trans.__(
    '%1 OK, %2 replicating, %3 stuck',
    ok,
    replicating,
    stuck
  );
  return (
    <div className="jp-DLaaS-ruleProgress">
      <div
        className="jp-DLaaS-progress"
        role="progressbar"
        aria-label={trans.__('Files of the rule at %1', rule.rse_expression)}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={ok}
        aria-valuetext={text}
      >
        <span className="jp-DLaaS-progressOk" style={{ width: share(ok) }} />
        <span
          className="jp-DLaaS-progressReplicating"
          style={{ width: share(replicating) }}
        />
        <span
          className="jp-DLaaS-progressStuck"
          style={{ width: share(stuck) }}
        />
      </div>
      <span className="jp-DLaaS-progressText">{text}</span>
    </div>
  );
}

/** A file's state at the notebook, in words. */
export function fileStateLabel(
  state: string,
  trans: TranslationBundle
): string {
  switch (state) {
    case 'AVAILABLE':
      return trans.__('at the notebook');
    case 'REPLICATING':
      return trans.__('copying');
    case 'STUCK':
      return trans.__('stuck');
    case 'ELSEWHERE':
      return trans.__('elsewhere');
    case 'LOST':
      return trans.__('no available replica');
    default:
      return state.toLowerCase();
  }
}

/** The DID's files, a page at a time, with their replicas per RSE and QoS class. */
function FilesSection(props: {
  model: DataLakeModel;
  actions: IDataLakeActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, actions, trans } = props;
  const details = model.details;
  const headingId = `jp-DLaaS-files-${React.useId()}`;
  const total = details.details?.length ?? null;
  return (
    <section className="jp-DLaaS-section" aria-labelledby={headingId}>
      <h4 id={headingId} className="jp-DLaaS-sectionTitle">
        {total !== null
          ? trans.__('Files (%1 of %2 shown)', details.files.length, total)
          : trans.__('Files')}
      </h4>
      {details.filesError && (
        <AlertMessage kind="error">
          <p>{details.filesError.message}</p>
        </AlertMessage>
      )}
      <ul className="jp-DLaaS-files" aria-labelledby={headingId}>
        {details.files.map(file => (
          <FileItem
            key={file.did}
            did={details.did ?? ''}
            file={file}
            actions={actions}
            trans={trans}
          />
        ))}
      </ul>
      {details.hasMoreFiles && (
        <button
          type="button"
          className="jp-mod-styled"
          disabled={details.filesState === 'loading'}
          onClick={() => void details.loadMoreFiles()}
        >
          {trans.__('Show more files')}
        </button>
      )}
      {details.filesState === 'loading' && details.files.length === 0 && (
        <p className="jp-DLaaS-hint" role="status">
          {trans.__('Loading files…')}
        </p>
      )}
    </section>
  );
}

function FileItem(props: {
  /** The DID whose files these are (its folder holds their links). */
  did: string;
  file: IDidFile;
  actions: IDataLakeActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { did, file, actions, trans } = props;
  const name = file.name ?? didName(file.did);
  return (
    <li className="jp-DLaaS-file" aria-label={file.did}>
      <div className="jp-DLaaS-fileHead">
        <span className="jp-DLaaS-fileName" title={file.did}>
          {name}
        </span>
        <span className="jp-DLaaS-fileSize">{formatBytes(file.bytes)}</span>
        <span className={`jp-DLaaS-fileState ${modClass(file.state)}`}>
          {fileStateLabel(file.state, trans)}
        </span>
      </div>
      {file.replicas.length > 0 && (
        <ul
          className="jp-DLaaS-replicas"
          aria-label={trans.__('Replicas of %1', name)}
        >
          {file.replicas.map(replica => (
            <li
              key={replica.rse}
              className={`jp-DLaaS-replica ${modClass(replica.state)}`}
              title={trans.__('%1: %2', replica.rse, replica.state)}
            >
              {replica.rse}
              {replica.qos_class && (
                <span className="jp-DLaaS-qos">{replica.qos_class}</span>
              )}
              {replica.state !== 'AVAILABLE' && (
                <span className="jp-DLaaS-replicaState">
                  {replica.state.toLowerCase()}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {file.reason && (
        <p className="jp-DLaaS-ruleError">
          {trans.__('Rucio says: %1', file.reason)}
        </p>
      )}
      {file.local_path && (
        <button
          type="button"
          className="jp-DLaaS-linkButton"
          aria-label={trans.__('Copy the path of %1', name)}
          title={trans.__('Copy the path of %1 in the folder of %2', name, did)}
          onClick={() =>
            void actions.copyFilePath(did, file.did, file.local_path!)
          }
        >
          {trans.__('Copy path')}
        </button>
      )}
    </li>
  );
}
