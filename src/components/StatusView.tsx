import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { DataLakeModel } from '../models/datalake';
import { AlertMessage } from './AlertMessage';
import { InstanceCard } from './InstanceCard';

export interface IStatusViewProps {
  model: DataLakeModel;
  trans: TranslationBundle;
}

/**
 * Problems worth showing above everything: version mismatch, no answer from
 * the server extension, an invalid configuration. Nothing when all is well.
 */
export function ProblemMessages(props: IStatusViewProps): JSX.Element {
  const { model, trans } = props;
  return (
    <>
      <VersionMismatchWarning model={model} trans={trans} />
      <ConnectionMessage model={model} trans={trans} />
      {model.status?.configuration_error && (
        <AlertMessage kind="error" label={trans.__('Configuration error')}>
          <p>
            {trans.__(
              'The Data Lake configuration of this JupyterLab is invalid: %1',
              model.status.configuration_error.message
            )}
          </p>
          <p>{trans.__('Ask your administrator to correct it.')}</p>
        </AlertMessage>
      )}
    </>
  );
}

/**
 * The "Instances" tab: extension version, configured instances (which
 * service is down, if one is), last check.
 */
export function StatusView(props: IStatusViewProps): JSX.Element {
  const { model, trans } = props;
  return (
    <div className="jp-DLaaS-status">
      <p className="jp-DLaaS-version">
        {trans.__('escape-dlaas version %1', model.frontendVersion)}
      </p>
      <InstancesSection model={model} trans={trans} />
      {model.lastChecked !== null && (
        <p className="jp-DLaaS-lastChecked">
          {trans.__('Last checked:')}{' '}
          <time dateTime={model.lastChecked.toISOString()}>
            {model.lastChecked.toLocaleTimeString()}
          </time>
        </p>
      )}
    </div>
  );
}

function InstancesSection(props: IStatusViewProps): JSX.Element | null {
  const { model, trans } = props;
  const headingId = `jp-DLaaS-heading-${React.useId()}`;
  const status = model.status;
  // Why the sign-in at the selected instance could not be checked (the issuer or the hub down).
  const signInError =
    model.identity.state === 'error' ? model.identity.error : null;
  // Before any answer, or when a configuration error already says why there is none.
  if (
    status === null ||
    (status.instances.length === 0 && status.configuration_error)
  ) {
    return null;
  }
  return (
    <section className="jp-DLaaS-instances" aria-labelledby={headingId}>
      <h3 id={headingId} className="jp-DLaaS-sectionTitle">
        {trans.__('Rucio instances')}
      </h3>
      {status.instances.length === 0 ? (
        <p className="jp-DLaaS-message">
          {trans.__(
            'No Rucio instance is configured. An administrator adds them with c.DLaaS.instances in the Jupyter server configuration.'
          )}
        </p>
      ) : (
        <ul
          className="jp-DLaaS-instanceList"
          aria-label={trans.__('Rucio instances')}
        >
          {status.instances.map(instance => (
            <InstanceCard
              key={instance.name}
              instance={instance}
              isDefault={instance.name === model.defaultInstanceName}
              signInError={
                instance.name === model.instanceName ? signInError : null
              }
              trans={trans}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function VersionMismatchWarning(props: IStatusViewProps): JSX.Element | null {
  const { model, trans } = props;
  if (!model.versionMismatch || model.status === null) {
    return null;
  }
  return (
    <AlertMessage kind="warning" label={trans.__('Version mismatch')}>
      <p>
        {trans.__(
          'This page runs escape-dlaas %1 but the server extension is version %2.',
          model.frontendVersion,
          model.status.version
        )}
      </p>
      <p>
        {trans.__(
          'Reinstall escape-dlaas, restart JupyterLab, then reload this page.'
        )}
      </p>
    </AlertMessage>
  );
}

function ConnectionMessage(props: IStatusViewProps): JSX.Element | null {
  const { model, trans } = props;
  switch (model.connectionState) {
    case 'loading':
      return (
        <p className="jp-DLaaS-message" role="status">
          {trans.__('Checking the Data Lake…')}
        </p>
      );
    case 'server-missing':
      return (
        <AlertMessage kind="error" label={trans.__('Server extension missing')}>
          <p>
            {trans.__(
              'The escape-dlaas server extension is not installed or not enabled.'
            )}
          </p>
          <p>
            {trans.__(
              'The Data Lake needs it on the Jupyter server. Ask your administrator to install escape-dlaas in the environment running JupyterLab and restart it; "jupyter server extension list" should show escape_dlaas as enabled.'
            )}
          </p>
        </AlertMessage>
      );
    case 'error':
      return (
        <AlertMessage kind="error" label={trans.__('Status check failed')}>
          <p>
            {trans.__('Could not get the Data Lake status: %1', model.problem)}
          </p>
          {model.status !== null && (
            <p>{trans.__('The information below may be out of date.')}</p>
          )}
        </AlertMessage>
      );
    case 'ready':
      return null;
  }
}
