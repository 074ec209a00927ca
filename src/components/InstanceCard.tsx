import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { IInstanceStatus } from '../api/types';

/** Rucio's VO name on single-VO servers: nothing worth showing. */
const SINGLE_VO = 'def';

export interface IInstanceCardProps {
  instance: IInstanceStatus;
  /** Whether this is the instance used by default. */
  isDefault: boolean;
  trans: TranslationBundle;
}

/**
 * One configured Rucio instance: where it is and whether it answers.
 *
 * The list item is named after the instance so UI tests and screen readers
 * can find it by its display name.
 */
export function InstanceCard(props: IInstanceCardProps): JSX.Element {
  const { instance, isDefault, trans } = props;
  const nameId = `jp-DLaaS-instance-${React.useId()}`;
  const reachability = instance.reachable
    ? trans.__('Reachable')
    : trans.__('Not reachable');

  return (
    <li
      className="jp-DLaaS-instance"
      aria-labelledby={nameId}
      data-instance-name={instance.name}
    >
      <h4 className="jp-DLaaS-instanceTitle">
        <span
          className={`jp-DLaaS-reachabilityDot ${
            instance.reachable ? 'jp-mod-reachable' : 'jp-mod-unreachable'
          }`}
          aria-hidden="true"
        />
        <span id={nameId}>{instance.display_name}</span>
        {isDefault && (
          <span className="jp-DLaaS-badge">{trans.__('default')}</span>
        )}
      </h4>
      <dl className="jp-DLaaS-details">
        <dt>{trans.__('Rucio server')}</dt>
        <dd className="jp-DLaaS-url">{instance.rucio_url}</dd>
        {instance.vo && instance.vo !== SINGLE_VO && (
          <>
            <dt>{trans.__('VO')}</dt>
            <dd>{instance.vo}</dd>
          </>
        )}
        <dt>{trans.__('Status')}</dt>
        <dd
          className={`jp-DLaaS-reachability ${
            instance.reachable ? 'jp-mod-reachable' : 'jp-mod-unreachable'
          }`}
        >
          {reachability}
        </dd>
        {instance.reachable ? (
          <>
            <dt>{trans.__('Rucio version')}</dt>
            <dd className="jp-DLaaS-rucioVersion">
              {instance.rucio_version || trans.__('unknown')}
            </dd>
            <dt>{trans.__('Response time')}</dt>
            <dd className="jp-DLaaS-latency">
              {typeof instance.latency_ms === 'number'
                ? trans.__('%1 ms', Math.round(instance.latency_ms))
                : trans.__('unknown')}
            </dd>
          </>
        ) : (
          <>
            <dt>{trans.__('Problem')}</dt>
            <dd className="jp-DLaaS-instanceError">
              {instance.error ?? trans.__('The Rucio server did not answer.')}
            </dd>
          </>
        )}
      </dl>
    </li>
  );
}
