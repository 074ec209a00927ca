import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { ITarget } from '../api/types';

/** Where to make data available, and for how long: what the user chose. */
export interface IMakeAvailableChoice {
  targetId: string;
  lifetimeDays: number;
}

/** Whether a lifetime can be asked for: a number of days above zero. */
export function isLifetimeValid(lifetimeDays: number): boolean {
  return Number.isFinite(lifetimeDays) && lifetimeDays > 0;
}

export interface ITargetLifetimeFieldsProps {
  /** Prefix of the fields' ids, unique in the page (the labels point at them). */
  id: string;
  targets: ITarget[];
  value: IMakeAvailableChoice;
  /** Each field says only its own change (the other may be newer than `value`). */
  onTargetChange: (targetId: string) => void;
  onLifetimeChange: (lifetimeDays: number) => void;
  trans: TranslationBundle;
}

/**
 * The target and lifetime fields of the make-available dialogs (one DID,
 * "make all available"): a labelled select of the targets and a labelled
 * number of days, marked invalid below one day (an emptied field is NaN).
 */
export function TargetLifetimeFields(
  props: ITargetLifetimeFieldsProps
): JSX.Element {
  const { id, targets, value, trans } = props;
  return (
    <>
      <label className="jp-DLaaS-field" htmlFor={`${id}-target`}>
        {trans.__('Target')}
      </label>
      <select
        id={`${id}-target`}
        className="jp-DLaaS-select"
        aria-label={trans.__('Target')}
        value={value.targetId}
        onChange={event => props.onTargetChange(event.target.value)}
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
        aria-invalid={!isLifetimeValid(value.lifetimeDays)}
        value={Number.isFinite(value.lifetimeDays) ? value.lifetimeDays : ''}
        onChange={event => props.onLifetimeChange(event.target.valueAsNumber)}
      />
    </>
  );
}
