import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { ITarget } from '../api/types';
import { formatBytes, formatDuration, formatFileCount } from '../format';
import { IMakeAvailableItem } from '../tokens';

/** What the user chose in the make-available dialog. */
export interface IMakeAvailableChoice {
  targetId: string;
  lifetimeDays: number;
}

export interface IMakeAvailableFormProps {
  item: IMakeAvailableItem;
  targets: ITarget[];
  value: IMakeAvailableChoice;
  onChange: (value: IMakeAvailableChoice) => void;
  trans: TranslationBundle;
}

/**
 * How much data a rule would move: to the notebook, what is not there yet;
 * to a QoS class, up to the whole DID (Rucio copies only what is missing).
 */
export function dataToMove(
  item: IMakeAvailableItem,
  target: ITarget | undefined
): { bytes: number | null; files: number | null; upTo: boolean } {
  const availability = item.availability;
  const totalBytes = item.bytes ?? availability?.bytes.total ?? null;
  const totalFiles = item.length ?? availability?.files.total ?? null;
  if (target?.id === 'notebook' && availability) {
    return {
      bytes: Math.max(
        0,
        availability.bytes.total - availability.bytes.at_notebook
      ),
      files: Math.max(
        0,
        availability.files.total - availability.files.at_notebook
      ),
      upTo: false
    };
  }
  return { bytes: totalBytes, files: totalFiles, upTo: true };
}

/** Body of the make-available dialog: target, lifetime, and how much data moves. */
export function MakeAvailableForm(props: IMakeAvailableFormProps): JSX.Element {
  const { item, targets, value, onChange, trans } = props;
  const id = React.useId();
  const target = targets.find(candidate => candidate.id === value.targetId);
  const move = dataToMove(item, target);
  const lifetimeValid =
    Number.isFinite(value.lifetimeDays) && value.lifetimeDays > 0;

  let volume: string;
  if (move.bytes === 0 && move.files === 0) {
    volume = trans.__(
      'All its files are at the notebook already: no data moves.'
    );
  } else if (move.upTo) {
    volume = trans.__(
      'Up to %1 (%2) will be copied to %3; Rucio copies only what is not there yet.',
      formatBytes(move.bytes),
      formatFileCount(move.files, trans) || trans.__('unknown number of files'),
      target?.label ?? value.targetId
    );
  } else {
    volume = trans.__(
      '%1 (%2) will be copied to %3.',
      formatBytes(move.bytes),
      formatFileCount(move.files, trans),
      target?.label ?? value.targetId
    );
  }

  return (
    <div className="jp-DLaaS-makeAvailable">
      <p className="jp-DLaaS-makeAvailableDid">
        {trans.__('Data:')} <code>{item.did}</code>
      </p>
      <label className="jp-DLaaS-field" htmlFor={`${id}-target`}>
        {trans.__('Target')}
      </label>
      <select
        id={`${id}-target`}
        className="jp-DLaaS-select"
        aria-label={trans.__('Target')}
        value={value.targetId}
        onChange={event => onChange({ ...value, targetId: event.target.value })}
      >
        {targets.map(candidate => (
          <option key={candidate.id} value={candidate.id}>
            {candidate.label}
          </option>
        ))}
      </select>
      <label className="jp-DLaaS-field" htmlFor={`${id}-lifetime`}>
        {trans.__('Lifetime (days)')}
      </label>
      <input
        id={`${id}-lifetime`}
        className="jp-DLaaS-input"
        type="number"
        min={1}
        step={1}
        aria-label={trans.__('Lifetime in days')}
        aria-invalid={!lifetimeValid}
        value={Number.isFinite(value.lifetimeDays) ? value.lifetimeDays : ''}
        onChange={event =>
          onChange({ ...value, lifetimeDays: event.target.valueAsNumber })
        }
      />
      <p className="jp-DLaaS-volume" role="status">
        {volume}
      </p>
      <p className="jp-DLaaS-hint">
        {lifetimeValid
          ? trans.__(
              'The copy is kept for %1; you can extend or cancel the rule later from the details view.',
              formatDuration(value.lifetimeDays * 86400, trans)
            )
          : trans.__('Give a lifetime of at least 1 day.')}
      </p>
    </div>
  );
}

/** The dialog body widget: holds the choice, gives it to the dialog. */
export class MakeAvailableBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IMakeAvailableChoice | null>
{
  constructor(options: MakeAvailableBody.IOptions) {
    super();
    this._options = options;
    this._value = {
      targetId: options.defaultTargetId,
      lifetimeDays: options.defaultLifetimeDays
    };
    this.addClass('jp-DLaaS-makeAvailableBody');
  }

  /** The choice, or null when the lifetime is not valid. */
  getValue(): IMakeAvailableChoice | null {
    const { lifetimeDays } = this._value;
    return Number.isFinite(lifetimeDays) && lifetimeDays > 0
      ? { ...this._value }
      : null;
  }

  protected render(): JSX.Element {
    return (
      <MakeAvailableForm
        item={this._options.item}
        targets={this._options.targets}
        value={this._value}
        onChange={value => {
          this._value = value;
          this.update();
        }}
        trans={this._options.trans}
      />
    );
  }

  private _options: MakeAvailableBody.IOptions;
  private _value: IMakeAvailableChoice;
}

export namespace MakeAvailableBody {
  export interface IOptions {
    item: IMakeAvailableItem;
    targets: ITarget[];
    defaultTargetId: string;
    defaultLifetimeDays: number;
    trans: TranslationBundle;
  }
}
