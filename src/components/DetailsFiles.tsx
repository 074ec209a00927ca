import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { didName, formatBytes, modClass } from '../format';
import { IDidFile } from '../api/types';
import { DataLakeModel } from '../models/datalake';
import { IDataLakeActions } from '../tokens';
import { AlertMessage } from './AlertMessage';

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
export function FilesSection(props: {
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
