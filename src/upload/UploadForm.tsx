import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React from 'react';

import { DataLakeRequestError, toRequestError } from '../api/request';
import { IUploadCheck, IUploadOptions, IUploadRequest } from '../api/types';
import { IMetadataRow, proposedDatasetName, typedMetadata } from './model';
import { UploadCheckResult } from './UploadCheckResult';

/** What the user chose in the form. */
export interface IUploadChoice {
  scope: string;
  dataset: string;
  target: string;
  lifetimeDays: number;
  rows: IMetadataRow[];
  metadataOn: 'dataset' | 'files' | 'both';
  /** Attach the identical files already in the lake instead of copying them. */
  attachIdentical: boolean;
}

/** Milliseconds after the last change of scope, dataset or target before checking again. */
const CHECK_DELAY_MS = 400;

/** The request for a choice; null while the metadata has problems. */
export function uploadRequest(
  paths: string[],
  choice: IUploadChoice,
  options: IUploadOptions,
  check: IUploadCheck | null,
  trans: TranslationBundle
): IUploadRequest | null {
  const { metadata, problems } = typedMetadata(
    choice.rows,
    options.metadata_keys,
    trans
  );
  if (
    problems.size > 0 ||
    !choice.dataset.trim() ||
    !(choice.lifetimeDays > 0) ||
    choice.lifetimeDays > options.max_lifetime_days
  ) {
    return null;
  }
  const attach: Record<string, string> = {};
  for (const file of check?.files ?? []) {
    if (choice.attachIdentical && file.identical.length > 0) {
      attach[file.path] = file.identical[0];
    }
  }
  return {
    paths,
    scope: choice.scope,
    dataset: choice.dataset.trim(),
    target: choice.target,
    lifetime_days: choice.lifetimeDays,
    metadata,
    metadata_on: choice.metadataOn,
    attach
  };
}

/** The upload form: where, how long, which metadata; the lake's check below. */
export function UploadForm(props: {
  paths: string[];
  options: IUploadOptions;
  value: IUploadChoice;
  onChange: (value: IUploadChoice) => void;
  check: IUploadCheck | null;
  checkError: DataLakeRequestError | null;
  checking: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { options, value, onChange, trans } = props;
  const id = 'jp-DLaaS-upload';
  const { problems } = typedMetadata(value.rows, options.metadata_keys, trans);
  const typeOf = new Map(options.metadata_keys.map(k => [k.key, k.type]));
  const setRow = (index: number, row: IMetadataRow) =>
    onChange({
      ...value,
      rows: value.rows.map((old, i) => (i === index ? row : old))
    });
  const lifetimeProblem =
    !(value.lifetimeDays > 0) || value.lifetimeDays > options.max_lifetime_days
      ? trans.__('Between 1 hour and %1 days.', options.max_lifetime_days)
      : null;
  return (
    <div className="jp-DLaaS-upload">
      <p className="jp-DLaaS-uploadPaths">
        {trans.__('Upload %1', props.paths.join(', '))}
      </p>
      <label className="jp-DLaaS-field" htmlFor={`${id}-scope`}>
        {trans.__('Scope')}
      </label>
      <select
        id={`${id}-scope`}
        className="jp-DLaaS-select"
        value={value.scope}
        onChange={e => onChange({ ...value, scope: e.target.value })}
      >
        {options.scopes.map(scope => (
          <option key={scope} value={scope}>
            {scope}
          </option>
        ))}
      </select>
      <label className="jp-DLaaS-field" htmlFor={`${id}-dataset`}>
        {trans.__('Dataset (new or existing)')}
      </label>
      <input
        id={`${id}-dataset`}
        className="jp-DLaaS-input"
        value={value.dataset}
        onChange={e => onChange({ ...value, dataset: e.target.value })}
      />
      <label className="jp-DLaaS-field" htmlFor={`${id}-target`}>
        {trans.__('Storage')}
      </label>
      <select
        id={`${id}-target`}
        className="jp-DLaaS-select"
        value={value.target}
        onChange={e => onChange({ ...value, target: e.target.value })}
      >
        {options.targets.map(target => (
          <option key={target.id} value={target.id}>
            {`${target.id} (${target.rse_expression})`}
          </option>
        ))}
      </select>
      <label className="jp-DLaaS-field" htmlFor={`${id}-lifetime`}>
        {trans.__('Keep for (days)')}
      </label>
      <input
        id={`${id}-lifetime`}
        className="jp-DLaaS-input"
        type="number"
        min={0.05}
        max={options.max_lifetime_days}
        step="any"
        value={Number.isFinite(value.lifetimeDays) ? value.lifetimeDays : ''}
        aria-invalid={lifetimeProblem !== null}
        onChange={e =>
          onChange({ ...value, lifetimeDays: parseFloat(e.target.value) })
        }
      />
      {lifetimeProblem && (
        <p className="jp-DLaaS-fieldError" role="alert">
          {lifetimeProblem}
        </p>
      )}
      <fieldset className="jp-DLaaS-uploadMetadata">
        <legend>{trans.__('Metadata')}</legend>
        <datalist id={`${id}-keys`}>
          {options.metadata_keys.map(k => (
            <option key={k.key} value={k.key}>
              {`${k.key} (${k.type})`}
            </option>
          ))}
        </datalist>
        {value.rows.map((row, index) => {
          const type = typeOf.get(row.key.trim()) ?? 'text';
          const problem = problems.get(index) ?? null;
          return (
            <div className="jp-DLaaS-uploadRow" key={index}>
              <input
                className="jp-DLaaS-input"
                list={`${id}-keys`}
                aria-label={trans.__('Key %1', index + 1)}
                placeholder={trans.__('key')}
                value={row.key}
                onChange={e => setRow(index, { ...row, key: e.target.value })}
              />
              <input
                className="jp-DLaaS-input"
                aria-label={trans.__('Value %1 (%2)', index + 1, type)}
                placeholder={type}
                aria-invalid={problem !== null}
                value={row.value}
                onChange={e => setRow(index, { ...row, value: e.target.value })}
              />
              <button
                type="button"
                className="jp-Button jp-mod-minimal"
                aria-label={trans.__('Remove key %1', index + 1)}
                onClick={() =>
                  onChange({
                    ...value,
                    rows: value.rows.filter((_, i) => i !== index)
                  })
                }
              >
                ×
              </button>
              {problem && (
                <p className="jp-DLaaS-fieldError" role="alert">
                  {`${row.key}: ${problem}`}
                </p>
              )}
            </div>
          );
        })}
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={() =>
            onChange({
              ...value,
              rows: [...value.rows, { key: '', value: '' }]
            })
          }
        >
          {trans.__('Add metadata')}
        </button>
        <label className="jp-DLaaS-field" htmlFor={`${id}-on`}>
          {trans.__('Apply metadata to')}
        </label>
        <select
          id={`${id}-on`}
          className="jp-DLaaS-select"
          value={value.metadataOn}
          onChange={e =>
            onChange({
              ...value,
              metadataOn: e.target.value as IUploadChoice['metadataOn']
            })
          }
        >
          <option value="dataset">{trans.__('the dataset')}</option>
          <option value="files">{trans.__('each file')}</option>
          <option value="both">{trans.__('the dataset and each file')}</option>
        </select>
      </fieldset>
      <label className="jp-DLaaS-uploadCheckbox">
        <input
          type="checkbox"
          checked={value.attachIdentical}
          onChange={e =>
            onChange({ ...value, attachIdentical: e.target.checked })
          }
        />
        {trans.__(
          'Attach identical files already in the lake instead of uploading copies'
        )}
      </label>
      <UploadCheckResult
        check={props.check}
        error={props.checkError}
        checking={props.checking}
        attachIdentical={value.attachIdentical}
        trans={trans}
      />
    </div>
  );
}

/**
 * The dialog body: holds the choice, asks the lake to check it (again after
 * a change of scope, dataset or storage), and gives the request to the
 * dialog; the accept button is off while the form has a problem.
 */
export class UploadBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IUploadRequest | null>
{
  constructor(options: UploadBody.IOptions) {
    super();
    this._options = options;
    const upload = options.options;
    this._value = {
      scope: upload.default_scope ?? upload.scopes[0] ?? '',
      dataset: proposedDatasetName(options.paths),
      target: upload.default_target ?? upload.targets[0]?.id ?? '',
      lifetimeDays: upload.default_lifetime_days,
      rows: [{ key: '', value: '' }],
      metadataOn: 'dataset',
      attachIdentical: true
    };
    this.addClass('jp-DLaaS-uploadBody');
    this._runCheck();
  }

  getValue(): IUploadRequest | null {
    return uploadRequest(
      this._options.paths,
      this._value,
      this._options.options,
      this._check,
      this._options.trans
    );
  }

  dispose(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    this._abort?.abort();
    super.dispose();
  }

  protected onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    const blocked =
      this.getValue() === null ||
      this._check === null ||
      this._check.problem !== null ||
      this._checkError !== null;
    this.toggleClass('jp-mod-error', blocked);
    // The dialog checks its fields (and this class) at each input event, which comes before
    // this update: let it check again now.
    this.node.dispatchEvent(new Event('input', { bubbles: true }));
  }

  protected render(): JSX.Element {
    return (
      <UploadForm
        paths={this._options.paths}
        options={this._options.options}
        value={this._value}
        onChange={value => {
          const recheck =
            value.scope !== this._value.scope ||
            value.dataset !== this._value.dataset ||
            value.target !== this._value.target;
          this._value = value;
          if (recheck) {
            this._scheduleCheck();
          }
          this.update();
        }}
        check={this._check}
        checkError={this._checkError}
        checking={this._checking}
        trans={this._options.trans}
      />
    );
  }

  private _scheduleCheck(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      this._runCheck();
    }, CHECK_DELAY_MS);
  }

  private _runCheck(): void {
    this._abort?.abort();
    const abort = new AbortController();
    this._abort = abort;
    this._checking = true;
    const { scope, dataset, target } = this._value;
    this._options
      .check(
        { paths: this._options.paths, scope, dataset: dataset.trim(), target },
        abort.signal
      )
      .then(
        check => {
          if (!abort.signal.aborted) {
            this._check = check;
            this._checkError = null;
          }
        },
        reason => {
          if (!abort.signal.aborted) {
            this._check = null;
            this._checkError = toRequestError(reason);
          }
        }
      )
      .finally(() => {
        if (!abort.signal.aborted && !this.isDisposed) {
          this._checking = false;
          this.update();
        }
      });
  }

  private _abort: AbortController | null = null;
  private _check: IUploadCheck | null = null;
  private _checkError: DataLakeRequestError | null = null;
  private _checking = false;
  private _options: UploadBody.IOptions;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _value: IUploadChoice;
}

export namespace UploadBody {
  export interface IOptions {
    paths: string[];
    options: IUploadOptions;
    /** Asks the lake what the upload would do (`POST upload/check`). */
    check: (
      request: IUploadRequest,
      signal: AbortSignal
    ) => Promise<IUploadCheck>;
    trans: TranslationBundle;
  }
}
