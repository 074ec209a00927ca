import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { DataLakeRequestError } from '../api/request';
import { IUploadCheck } from '../api/types';
import { formatBytes } from '../format';

/**
 * What the lake's check says of an upload before anything is copied: volume and storage,
 * why no storage can take it, names taken, identical files, files skipped or not compared.
 */
export function UploadCheckResult(props: {
  check: IUploadCheck | null;
  error: DataLakeRequestError | null;
  checking: boolean;
  attachIdentical: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { check, error, checking, trans } = props;
  if (error) {
    return (
      <p className="jp-DLaaS-uploadAlert jp-DLaaS-uploadError" role="alert">
        {error.message}
      </p>
    );
  }
  if (!check) {
    return (
      <p className="jp-DLaaS-hint" role="status">
        {trans.__('Computing checksums and asking the lake…')}
      </p>
    );
  }
  const identical = check.files.filter(f => f.identical.length > 0);
  const taken = check.files.filter(
    f => f.name_taken && !(props.attachIdentical && f.identical.length > 0)
  );
  return (
    <div className="jp-DLaaS-uploadCheck" aria-busy={checking}>
      <p className="jp-DLaaS-volume" role="status">
        {trans._n(
          '%1 file, %2, to %3',
          '%1 files, %2, to %3',
          check.files.length,
          formatBytes(check.bytes),
          check.rse ?? trans.__('no storage')
        )}
        {check.dataset?.exists
          ? ' ' +
            trans.__(
              '(into the existing dataset %1, %2 files)',
              check.dataset.did,
              check.dataset.files.length
            )
          : ''}
      </p>
      {check.problem && (
        <p className="jp-DLaaS-uploadAlert jp-DLaaS-uploadProblem" role="alert">
          {check.problem.message}
        </p>
      )}
      {taken.length > 0 && (
        <p className="jp-DLaaS-uploadAlert jp-DLaaS-uploadTaken" role="alert">
          {trans.__(
            'Name already taken in %1: %2. Rucio never replaces a file; rename yours.',
            check.scope,
            taken.map(f => f.name).join(', ')
          )}
        </p>
      )}
      {identical.length > 0 && (
        <table
          className="jp-DLaaS-uploadIdentical"
          aria-label={trans.__('Identical files already in the lake')}
        >
          <thead>
            <tr>
              <th>{trans.__('Your file')}</th>
              <th>{trans.__('Identical file in the lake')}</th>
            </tr>
          </thead>
          <tbody>
            {identical.map(f => (
              <tr key={f.path}>
                <td>{f.path}</td>
                <td>{f.identical.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {check.skipped.length > 0 && (
        <p className="jp-DLaaS-hint">
          {trans.__('Skipped (hidden or links): %1', check.skipped.join(', '))}
        </p>
      )}
      {check.not_compared.length > 0 && (
        <p className="jp-DLaaS-hint jp-DLaaS-uploadNotCompared">
          {trans._n(
            'Too large to compare with the lake in time: %2. It is uploaded as a new file.',
            'Too large to compare with the lake in time: %2. They are uploaded as new files.',
            check.not_compared.length,
            check.not_compared.join(', ')
          )}
        </p>
      )}
    </div>
  );
}
