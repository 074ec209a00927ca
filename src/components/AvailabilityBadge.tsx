import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { modClass } from '../format';
import { IAvailability } from '../api/types';

export interface IAvailabilityBadgeProps {
  availability: IAvailability | null;
  trans: TranslationBundle;
  /**
   * The server does not work this state out on a list (containers on a search
   * page): say how to see it instead of showing it as pending.
   */
  onRequestOnly?: boolean;
}

/** The share of a DID at the notebook, 0–1 (bytes when known, else files). */
export function availabilityProgress(availability: IAvailability): number {
  const { bytes, files } = availability;
  if (bytes.total > 0) {
    return Math.min(1, bytes.at_notebook / bytes.total);
  }
  return files.total > 0 ? Math.min(1, files.at_notebook / files.total) : 0;
}

/** Short label and full description of an availability, for the badge. */
export function describeAvailability(
  availability: IAvailability | null,
  trans: TranslationBundle,
  onRequestOnly = false
): { label: string; description: string } {
  if (availability === null && onRequestOnly) {
    return {
      label: trans.__('Open to see'),
      description: trans.__(
        'Open this container, or make it available, to see where its data is'
      )
    };
  }
  if (availability === null) {
    return {
      label: trans.__('…'),
      description: trans.__('Availability at the notebook not known yet')
    };
  }
  const { files } = availability;
  switch (availability.state) {
    case 'AVAILABLE':
      return {
        label: trans.__('Available'),
        description: trans._n(
          'Available at the notebook (%1 file)',
          'Available at the notebook (%1 files)',
          files.total
        )
      };
    case 'PARTIAL':
      return {
        label: trans.__('Partial %1/%2', files.at_notebook, files.total),
        description: trans.__(
          'Partly at the notebook: %1 of %2 files',
          files.at_notebook,
          files.total
        )
      };
    case 'REPLICATING':
      return {
        label: trans.__('Replicating %1/%2', files.at_notebook, files.total),
        description: trans.__(
          'Being copied to the notebook: %1 of %2 files there, %3 on their way',
          files.at_notebook,
          files.total,
          files.replicating
        )
      };
    case 'STUCK':
      return {
        label: trans.__('Stuck'),
        description: trans.__(
          'The copy to the notebook is stuck: %1',
          availability.reason ?? trans.__('Rucio gives no reason')
        )
      };
    case 'EMPTY':
      return {
        label: trans.__('Empty'),
        description: trans.__('This collection has no files')
      };
    case 'UNKNOWN':
      return {
        label: trans.__('Unknown'),
        description:
          availability.reason ?? trans.__('Rucio does not know this DID')
      };
    case 'NOT_AVAILABLE':
    default:
      return {
        label: trans.__('Not here'),
        description: trans.__('Not at the notebook')
      };
  }
}

/**
 * Whether a DID's data is at the notebook: available, partial (n/m),
 * replicating (with progress), stuck (with Rucio's reason), not here.
 */
export function AvailabilityBadge(props: IAvailabilityBadgeProps): JSX.Element {
  const { availability, trans, onRequestOnly } = props;
  const { label, description } = describeAvailability(
    availability,
    trans,
    onRequestOnly
  );
  const state =
    availability?.state ?? (onRequestOnly ? 'ON_REQUEST' : 'PENDING');
  const progress =
    availability && (state === 'REPLICATING' || state === 'PARTIAL')
      ? availabilityProgress(availability)
      : null;
  return (
    <span
      className={`jp-DLaaS-availability ${modClass(state)}`}
      data-state={state}
      role="img"
      aria-label={description}
      title={description}
    >
      <span className="jp-DLaaS-availabilityLabel">{label}</span>
      {progress !== null && (
        <span className="jp-DLaaS-miniProgress" aria-hidden="true">
          <span
            className="jp-DLaaS-miniProgressValue"
            style={{ width: `${Math.round(progress * 100)}%` }}
          />
        </span>
      )}
    </span>
  );
}
