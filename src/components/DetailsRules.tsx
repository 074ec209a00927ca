import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import {
  formatDateTime,
  formatRelative,
  modClass,
  parseRucioDate
} from '../format';
import { IRule } from '../api/types';
import { IDataLakeActions } from '../tokens';

/** The rules on the DID, all accounts: state, progress, expiry; the user's own can be extended or cancelled. */
export function RulesSection(props: {
  rules: IRule[];
  account: string | null;
  actions: IDataLakeActions;
  trans: TranslationBundle;
  now?: number;
}): JSX.Element {
  const { rules, account, actions, trans } = props;
  const now = props.now ?? Date.now();
  const headingId = `jp-DLaaS-rules-${React.useId()}`;
  // The user's rules first, then by target.
  const sorted = [...rules].sort(
    (a, b) =>
      Number(b.account === account) - Number(a.account === account) ||
      a.rse_expression.localeCompare(b.rse_expression)
  );
  return (
    <section className="jp-DLaaS-section" aria-labelledby={headingId}>
      <h4 id={headingId} className="jp-DLaaS-sectionTitle">
        {trans.__('Rules (%1)', rules.length)}
      </h4>
      {rules.length === 0 ? (
        <p className="jp-DLaaS-hint">
          {trans.__('No rule keeps copies of this data.')}
        </p>
      ) : (
        <ul className="jp-DLaaS-rules" aria-labelledby={headingId}>
          {sorted.map(rule => (
            <RuleItem
              key={rule.id}
              rule={rule}
              mine={account !== null && rule.account === account}
              actions={actions}
              trans={trans}
              now={now}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function RuleItem(props: {
  rule: IRule;
  mine: boolean;
  actions: IDataLakeActions;
  trans: TranslationBundle;
  now: number;
}): JSX.Element {
  const { rule, mine, actions, trans, now } = props;
  const expires = parseRucioDate(rule.expires_at);
  // The server says whether Extend and Cancel can work (the account's own
  // unlocked rule, on a lake that lets users do it); else, whose rule it is.
  const canExtend = rule.can_extend ?? mine;
  const canCancel = rule.can_cancel ?? mine;
  const limits = mine ? ruleLimits(rule, canExtend, canCancel, trans) : null;
  return (
    <li
      className="jp-DLaaS-rule"
      aria-label={trans.__('Rule at %1, %2', rule.rse_expression, rule.state)}
      data-rule-id={rule.id}
    >
      <div className="jp-DLaaS-ruleHead">
        <strong className="jp-DLaaS-ruleTarget">{rule.rse_expression}</strong>
        <span className={`jp-DLaaS-ruleState ${modClass(rule.state)}`}>
          {rule.state}
        </span>
        {rule.towards_notebook && (
          <span className="jp-DLaaS-tag">{trans.__('notebook')}</span>
        )}
        {rule.locked && (
          <span className="jp-DLaaS-tag">{trans.__('locked')}</span>
        )}
      </div>
      <RuleProgress rule={rule} trans={trans} />
      <p className="jp-DLaaS-ruleMeta">
        {mine ? trans.__('Your rule') : trans.__('Account %1', rule.account)}
        {' · '}
        {expires ? (
          <span className="jp-DLaaS-expiry">
            {trans.__('expires %1', formatRelative(expires, now, trans))}{' '}
            <time dateTime={expires.toISOString()}>
              ({formatDateTime(expires)})
            </time>
          </span>
        ) : (
          <span className="jp-DLaaS-expiry">{trans.__('never expires')}</span>
        )}
      </p>
      {rule.error && (
        <p className="jp-DLaaS-ruleError" role="note">
          {trans.__('Rucio says: %1', rule.error)}
        </p>
      )}
      {limits && (
        <p className="jp-DLaaS-ruleNote" role="note">
          {limits}
        </p>
      )}
      {(canExtend || canCancel) && (
        <div className="jp-DLaaS-ruleActions">
          {canExtend && (
            <button
              type="button"
              className="jp-mod-styled"
              aria-label={trans.__(
                'Extend the rule at %1',
                rule.rse_expression
              )}
              onClick={() => void actions.extendRule(rule)}
            >
              {trans.__('Extend…')}
            </button>
          )}
          {canCancel && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-warn"
              aria-label={trans.__(
                'Cancel the rule at %1',
                rule.rse_expression
              )}
              onClick={() => void actions.cancelRule(rule)}
            >
              {trans.__('Cancel rule…')}
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** Why the user cannot extend or cancel their own rule, or null when they can. */
function ruleLimits(
  rule: IRule,
  canExtend: boolean,
  canCancel: boolean,
  trans: TranslationBundle
): string | null {
  if (rule.locked) {
    return trans.__(
      'This rule is locked: Rucio keeps it, and it cannot be extended or cancelled from here.'
    );
  }
  if (!canExtend && !canCancel) {
    return trans.__(
      'This data lake does not let users extend or cancel rules: the copies are kept until the rule expires.'
    );
  }
  if (!canExtend) {
    return trans.__(
      'This data lake does not let users extend rules: the copies are kept until the rule expires; make the data available again after that.'
    );
  }
  if (!canCancel) {
    return trans.__(
      'This data lake does not let users cancel rules: Rucio removes this one when it expires.'
    );
  }
  return null;
}

/** Locks of a rule as one bar: OK, replicating, stuck. */
export function RuleProgress(props: {
  rule: IRule;
  trans: TranslationBundle;
}): JSX.Element {
  const { rule, trans } = props;
  const { ok, replicating, stuck } = rule.locks;
  const total = ok + replicating + stuck;
  const share = (count: number) =>
    total > 0 ? `${(100 * count) / total}%` : '0%';
  const text = trans.__(
    '%1 OK, %2 replicating, %3 stuck',
    ok,
    replicating,
    stuck
  );
  return (
    <div className="jp-DLaaS-ruleProgress">
      <div
        className="jp-DLaaS-progress"
        role="progressbar"
        aria-label={trans.__('Files of the rule at %1', rule.rse_expression)}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={ok}
        aria-valuetext={text}
      >
        <span className="jp-DLaaS-progressOk" style={{ width: share(ok) }} />
        <span
          className="jp-DLaaS-progressReplicating"
          style={{ width: share(replicating) }}
        />
        <span
          className="jp-DLaaS-progressStuck"
          style={{ width: share(stuck) }}
        />
      </div>
      <span className="jp-DLaaS-progressText">{text}</span>
    </div>
  );
}
