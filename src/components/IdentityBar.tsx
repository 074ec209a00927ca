import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { formatDuration } from '../format';
import { failingService, instanceHealth } from '../models/connection';
import { DataLakeModel } from '../models/datalake';
import { AlertMessage } from './AlertMessage';
import { serviceAdvice, serviceDown } from './ServiceProblem';

export interface IIdentityBarProps {
  model: DataLakeModel;
  trans: TranslationBundle;
  /** Current time (ms); the bar re-renders every half minute on its own. */
  now?: number;
}

/** Re-render every `period` ms (a clock for countdowns; holds no state of the model). */
export function useNow(period: number, fixed?: number): number {
  const [now, setNow] = React.useState(() => fixed ?? Date.now());
  React.useEffect(() => {
    if (fixed !== undefined) {
      return;
    }
    const timer = setInterval(() => setNow(Date.now()), period);
    return () => clearInterval(timer);
  }, [period, fixed]);
  return fixed ?? now;
}

/** Seconds the token has left at `now`, or null when unknown. */
export function tokenSecondsLeft(
  model: DataLakeModel,
  now: number
): number | null {
  const { whoami, receivedAt } = model.identity;
  const expiresIn = whoami?.token?.expires_in;
  if (typeof expiresIn !== 'number' || receivedAt === null) {
    return null;
  }
  return expiresIn - (now - receivedAt) / 1000;
}

/**
 * Which instance (a picker when there are several), who the user is there and
 * how long the token lasts; when credentials are missing or expired (a 401),
 * what to do; when a service needed to check them is down (the token issuer,
 * the hub, Rucio), which one, and that signing in again does not help.
 */
export function IdentityBar(props: IIdentityBarProps): JSX.Element | null {
  const { model, trans } = props;
  const now = useNow(30000, props.now);
  const id = React.useId();
  const instances = model.connection.instances;
  const current = model.instance;
  if (instances.length === 0 || current === null) {
    return null;
  }
  const working =
    instanceHealth(
      current,
      model.identity.state === 'error' ? model.identity.error : null
    ).down === null;

  return (
    <div className="jp-DLaaS-identity">
      {instances.length > 1 ? (
        <div className="jp-DLaaS-instancePicker">
          <label className="jp-DLaaS-field" htmlFor={`${id}-instance`}>
            {trans.__('Instance')}
          </label>
          <select
            id={`${id}-instance`}
            className="jp-DLaaS-select"
            aria-label={trans.__('Rucio instance')}
            value={current.name}
            onChange={event => model.selectInstance(event.target.value)}
          >
            {instances.map(instance => (
              <option key={instance.name} value={instance.name}>
                {instance.display_name}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <p className="jp-DLaaS-instanceName" title={current.rucio_url}>
          <span
            className={`jp-DLaaS-reachabilityDot ${
              working ? 'jp-mod-reachable' : 'jp-mod-unreachable'
            }`}
            aria-hidden="true"
          />
          {current.display_name}
        </p>
      )}
      <SignInStatus model={model} trans={trans} now={now} />
    </div>
  );
}

function SignInStatus(props: {
  model: DataLakeModel;
  trans: TranslationBundle;
  now: number;
}): JSX.Element {
  const { model, trans, now } = props;
  const identity = model.identity;
  switch (identity.state) {
    case 'signed-in': {
      const whoami = identity.whoami!;
      const left = tokenSecondsLeft(model, now);
      const token = whoami.token ?? {};
      const details = [
        token.sub ? trans.__('subject %1', token.sub) : null,
        token.iss ? trans.__('issuer %1', token.iss) : null,
        token.source ? trans.__('token from %1', token.source) : null,
        token.exchanged ? trans.__('exchanged for a Rucio token') : null
      ]
        .filter(Boolean)
        .join(', ');
      let validity: string;
      let expired = false;
      if (left === null) {
        validity =
          token.auth_type === 'userpass'
            ? trans.__('signed in with a password')
            : trans.__('token validity unknown');
      } else if (left > 0) {
        validity = trans.__('token valid for %1', formatDuration(left, trans));
      } else {
        expired = true;
        validity = trans.__('token expired; renewing…');
      }
      return (
        <p
          className="jp-DLaaS-signIn"
          role="status"
          aria-label={trans.__('Sign-in')}
          title={details}
        >
          {trans.__('Signed in as')}{' '}
          <strong className="jp-DLaaS-account">{whoami.account}</strong>
          {' · '}
          <span
            className={`jp-DLaaS-tokenValidity ${expired ? 'jp-mod-expired' : ''}`}
          >
            {validity}
          </span>
        </p>
      );
    }
    case 'signed-out':
      return (
        <AlertMessage kind="warning" label={trans.__('Sign-in needed')}>
          <p>
            <strong>
              {trans.__(
                'You are not signed in to %1.',
                model.instance?.display_name
              )}
            </strong>
          </p>
          <p>{identity.error?.message}</p>
          <p>
            {trans.__(
              'Searches and transfers need working credentials. Once you have signed in again, press Retry.'
            )}
          </p>
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void model.identity.refresh()}
          >
            {trans.__('Retry')}
          </button>
        </AlertMessage>
      );
    case 'error': {
      const down = failingService(identity.error);
      if (down !== null) {
        return (
          <AlertMessage kind="error" label={serviceDown(down, trans)}>
            <p>
              <strong>{serviceDown(down, trans)}</strong>
            </p>
            <p>{identity.error?.message}</p>
            <p>{serviceAdvice(down, trans)}</p>
            <button
              type="button"
              className="jp-mod-styled"
              onClick={() => void model.identity.refresh()}
            >
              {trans.__('Retry')}
            </button>
          </AlertMessage>
        );
      }
      return (
        <AlertMessage kind="error" label={trans.__('Sign-in check failed')}>
          <p>
            {trans.__(
              'Could not check your sign-in: %1',
              identity.error?.message
            )}
          </p>
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void model.identity.refresh()}
          >
            {trans.__('Retry')}
          </button>
        </AlertMessage>
      );
    }
    default:
      return (
        <p className="jp-DLaaS-signIn" role="status">
          {trans.__('Checking your sign-in…')}
        </p>
      );
  }
}
