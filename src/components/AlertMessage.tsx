import React from 'react';

export interface IAlertMessageProps {
  kind: 'error' | 'warning';
  /** Accessible name of the message, when its text alone does not say what it is about. */
  label?: string;
  children: React.ReactNode;
}

/** A boxed error or warning that screen readers announce (role alert). */
export function AlertMessage(props: IAlertMessageProps): JSX.Element {
  return (
    <div
      className={`jp-DLaaS-message jp-DLaaS-mod-${props.kind}`}
      role="alert"
      aria-label={props.label}
    >
      {props.children}
    </div>
  );
}
