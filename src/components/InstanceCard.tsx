import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import type { DataLakeRequestError } from '../api/request';
import { DatabaseState, IInstanceStatus } from '../api/types';
import { instanceHealth } from '../models/connection';
import { serviceAdvice, serviceDown } from './ServiceProblem';

/** Rucio's VO name on single-VO servers: nothing worth showing. */
const SINGLE_VO = 'def';

export interface IInstanceCardProps {
  instance: IInstanceStatus;
  /** Whether this is the instance used by default. */
  isDefault: boolean;
  /**
   * Why the user's sign-in at this instance could not be checked, if it
   * could not (the selected instance only): names the token issuer or the
   * hub when they are down.
   */
  signInError?: DataLakeRequestError | null;
  trans: TranslationBundle;
}

/**
 * One configured Rucio instance: where it is, whether it works and, when
 * it does not, which service is down (Rucio, its database, the token
 * issuer, the hub) and what the user can do.
 *
 * The list item is named after the instance so UI tests and screen readers
 * can find it by its display name.
 */
export function InstanceCard(props: IInstanceCardProps): JSX.Element {
  const { instance, isDefault, trans } = props;
  const nameId = `jp-DLaaS-instance-${React.useId()}`;
  const health = instanceHealth(instance, props.signInError ?? null);
  const working = health.down === null;
  const reachability = working
    ? trans.__('Reachable')
    : health.down === 'rucio'
      ? trans.__('Not reachable')
      : serviceDown(health.down!, trans);
  const mod = working ? 'jp-mod-reachable' : 'jp-mod-unreachable';
  // Rucio's front answered the last check (its database may not have).
  const rucioAnswers = instance.reachable || health.down === 'database';

  return (
    <li
      className="jp-DLaaS-instance"
      aria-labelledby={nameId}
      data-instance-name={instance.name}
    >
      <h4 className="jp-DLaaS-instanceTitle">
        <span
          className={`jp-DLaaS-reachabilityDot ${mod}`}
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
          className={`jp-DLaaS-reachability ${mod}`}
          data-down={health.down ?? undefined}
        >
          {reachability}
        </dd>
        {rucioAnswers && (
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
            <dt>{trans.__('Database')}</dt>
            <dd className="jp-DLaaS-database" data-state={health.database}>
              {databaseWords(health.database, trans)}
            </dd>
          </>
        )}
        {!working && (
          <>
            <dt>{trans.__('Problem')}</dt>
            <dd className="jp-DLaaS-instanceError">
              {health.problem ?? trans.__('The Rucio server did not answer.')}
            </dd>
          </>
        )}
      </dl>
      {!working && (
        // Below the list, full width: a sentence to read, not a value.
        <p className="jp-DLaaS-instanceAdvice">
          <strong>{trans.__('What you can do:')}</strong>{' '}
          {serviceAdvice(health.down!, trans)}
        </p>
      )}
    </li>
  );
}

/** What the status found of Rucio's database, in words. */
function databaseWords(state: DatabaseState, trans: TranslationBundle): string {
  switch (state) {
    case 'ok':
      return trans.__('Answers');
    case 'unavailable':
      return trans.__('Not answering');
    case 'checking':
      return trans.__('Checking…');
    default:
      return trans.__('Not checked yet (it needs your sign-in)');
  }
}
