import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React from 'react';

import { IQuota, IRulePreview, ITarget } from '../api/types';
import {
  formatBytes,
  formatDateTime,
  formatDuration,
  formatFileCount,
  parseRucioDate
} from '../format';
import { RulePreviewModel } from '../models/preview';
import { IMakeAvailableItem } from '../tokens';
import { AlertMessage } from './AlertMessage';
import {
  IMakeAvailableChoice,
  isLifetimeValid,
  TargetLifetimeFields
} from './TargetLifetimeFields';

export interface IMakeAvailableFormProps {
  item: IMakeAvailableItem;
  targets: ITarget[];
  value: IMakeAvailableChoice;
  onChange: (value: IMakeAvailableChoice) => void;
  trans: TranslationBundle;
  /**
   * What the server says this request would do (quota, embargo, storage,
   * an existing rule); without it, only the local estimate of the volume.
   */
  preview?: RulePreviewModel | null;
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
  const previewModel = props.preview ?? null;
  // The server's answer, once it is about the target shown.
  const answer =
    previewModel?.preview?.target.id === value.targetId
      ? previewModel.preview
      : null;
  const move = answer
    ? { ...answer.to_move, upTo: false }
    : dataToMove(item, target);
  const lifetimeValid = isLifetimeValid(value.lifetimeDays);

  let volume: string;
  if (answer && answer.size.files === 0) {
    volume = trans.__('It holds no files: no data moves.');
  } else if (
    move.bytes === 0 &&
    move.files === 0 &&
    target?.id !== 'notebook'
  ) {
    volume = trans.__(
      'All its files are at %1 already: no data moves.',
      target?.label ?? value.targetId
    );
  } else if (move.bytes === 0 && move.files === 0) {
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
      <TargetLifetimeFields
        id={id}
        targets={targets}
        value={value}
        onTargetChange={targetId => onChange({ ...value, targetId })}
        onLifetimeChange={lifetimeDays => onChange({ ...value, lifetimeDays })}
        trans={trans}
      />
      <p className="jp-DLaaS-volume" role="status">
        {volume}
      </p>
      {previewModel && (
        <PreviewFindings model={previewModel} answer={answer} trans={trans} />
      )}
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

/**
 * What the server found before the click: why Rucio would refuse (embargo,
 * quota with its numbers, no storage for the target), the user's rule for
 * it already, the quota it uses; while asking, that it is checking; when
 * the check failed, why.
 */
function PreviewFindings(props: {
  model: RulePreviewModel;
  /** The answer about the target shown, if any. */
  answer: IRulePreview | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, answer, trans } = props;
  const loading = model.state === 'loading';
  return (
    <div className="jp-DLaaS-preview" aria-live="polite" aria-busy={loading}>
      {loading && (
        <p className="jp-DLaaS-hint jp-DLaaS-previewLoading">
          {trans.__('Checking the quota, embargoes and storage…')}
        </p>
      )}
      {model.state === 'error' && model.error && (
        <AlertMessage kind="warning" label={trans.__('Could not check')}>
          <p>
            {trans.__(
              'Could not check beforehand what Rucio would do: %1',
              model.error.message
            )}
          </p>
          <p>{trans.__('You can still ask: Rucio decides.')}</p>
        </AlertMessage>
      )}
      {answer && <Findings answer={answer} trans={trans} />}
    </div>
  );
}

function Findings(props: {
  answer: IRulePreview;
  trans: TranslationBundle;
}): JSX.Element {
  const { answer, trans } = props;
  const refusals = answer.outcome === 'refused' ? answer.refusals : [];
  const limited = answer.quota.rses.filter(quota => !quota.unlimited);
  return (
    <>
      {refusals.map(refusal => {
        switch (refusal.reason) {
          case 'embargoed':
            return (
              <AlertMessage
                key={refusal.reason}
                kind="error"
                label={trans.__('Embargoed')}
              >
                <p>
                  <strong>
                    {answer.embargo?.until
                      ? trans.__(
                          'Embargoed until %1',
                          formatDay(answer.embargo.until)
                        )
                      : trans.__('Embargoed')}
                  </strong>
                </p>
                <p>{refusal.message}</p>
              </AlertMessage>
            );
          case 'quota_exceeded':
            return (
              <AlertMessage
                key={refusal.reason}
                kind="error"
                label={trans.__('Quota exceeded')}
              >
                <p>
                  <strong>
                    {trans.__(
                      'Quota exceeded: this needs %1',
                      formatBytes(answer.quota.needed_bytes)
                    )}
                  </strong>
                </p>
                <QuotaTable quotas={answer.quota.rses} trans={trans} />
                <p>
                  {trans.__(
                    "Ask the data lake's administrators for more quota, release data you no longer need, or choose another target."
                  )}
                </p>
              </AlertMessage>
            );
          default:
            return (
              <AlertMessage
                key={refusal.reason}
                kind="error"
                label={trans.__('No storage for this target')}
              >
                <p>{refusal.message}</p>
              </AlertMessage>
            );
        }
      })}
      {answer.rule && <ExistingRule answer={answer} trans={trans} />}
      {refusals.length === 0 && limited.length > 0 && (
        <p className="jp-DLaaS-hint jp-DLaaS-quotaLine">
          {limited
            .map(quota =>
              trans.__(
                'Your quota at %1: %2 of %3 used.',
                quota.rse,
                formatBytes(quota.used_bytes),
                formatBytes(quota.limit_bytes)
              )
            )
            .join(' ')}
        </p>
      )}
    </>
  );
}

/** Used, limit and needed per storage element, in bytes a person reads. */
function QuotaTable(props: {
  quotas: IQuota[];
  trans: TranslationBundle;
}): JSX.Element {
  const { quotas, trans } = props;
  const limit = (quota: IQuota): string =>
    quota.unlimited
      ? trans.__('unlimited')
      : quota.limit_bytes === 0
        ? trans.__('none')
        : formatBytes(quota.limit_bytes);
  return (
    <table className="jp-DLaaS-quota" aria-label={trans.__('Your quota')}>
      <thead>
        <tr>
          <th scope="col">{trans.__('Storage')}</th>
          <th scope="col">{trans.__('Used')}</th>
          <th scope="col">{trans.__('Limit')}</th>
          <th scope="col">{trans.__('Needed')}</th>
        </tr>
      </thead>
      <tbody>
        {quotas.map(quota => (
          <tr key={quota.rse}>
            <th scope="row">{quota.rse}</th>
            <td>{formatBytes(quota.used_bytes)}</td>
            <td>{limit(quota)}</td>
            <td>{formatBytes(quota.needed_bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The user's rule for this data and target, and what asking again does to it. */
function ExistingRule(props: {
  answer: IRulePreview;
  trans: TranslationBundle;
}): JSX.Element {
  const { answer, trans } = props;
  const rule = answer.rule!;
  const expires = parseRucioDate(rule.expires_at);
  const until = expires
    ? trans.__('it expires %1', formatDateTime(expires))
    : trans.__('it never expires');
  let again: string;
  switch (answer.outcome) {
    case 'extend':
      again = trans.__(
        'Asking again extends it to %1 from now.',
        formatDuration(answer.lifetime_days * 86400, trans)
      );
      break;
    case 'keep':
      again =
        (answer.note ??
          trans.__('This data lake does not let users extend rules.')) +
        ' ' +
        trans.__('Asking again keeps the rule as it is.');
      break;
    default:
      again = trans.__('It lasts long enough: asking again keeps it as it is.');
  }
  return (
    <p className="jp-DLaaS-existingRule" role="note">
      {trans.__(
        'You have a rule for this at %1 already (%2, %3).',
        rule.rse_expression,
        rule.state,
        until
      )}{' '}
      {again}
    </p>
  );
}

/** An ISO date (`2030-01-01`) as the user's locale writes it. */
function formatDay(value: string): string {
  const date = new Date(`${value.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleDateString(undefined, {
        year: 'numeric',
        month: 'long',
        day: 'numeric',
        timeZone: 'UTC'
      });
}

/**
 * The dialog body widget: holds the choice, gives it to the dialog, and asks
 * the preview model (which it disposes with itself) about each new choice.
 *
 * While the preview says Rucio would surely refuse, the dialog's accept
 * button is off and says so: the body carries `jp-mod-error`, which
 * JupyterLab's Dialog checks at each `input` event to keep accept buttons
 * disabled (Enter included); Cancel still works.
 */
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
    const preview = options.preview ?? null;
    if (preview) {
      preview.changed.connect(this.update, this);
      preview.ask({
        target: this._value.targetId,
        lifetimeDays: this._value.lifetimeDays
      });
    }
  }

  /** The choice, or null when the lifetime is not valid or Rucio would surely refuse. */
  getValue(): IMakeAvailableChoice | null {
    return isLifetimeValid(this._value.lifetimeDays) &&
      !this._options.preview?.refused
      ? { ...this._value }
      : null;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.preview?.dispose();
    super.dispose();
  }

  protected onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    this._updateAcceptButton();
  }

  protected render(): JSX.Element {
    return (
      <MakeAvailableForm
        item={this._options.item}
        targets={this._options.targets}
        value={this._value}
        onChange={value => {
          this._value = value;
          this._options.preview?.ask({
            target: value.targetId,
            lifetimeDays: value.lifetimeDays
          });
          this.update();
        }}
        trans={this._options.trans}
        preview={this._options.preview}
      />
    );
  }

  /** Turn the dialog's accept button off (and say why) while Rucio would surely refuse. */
  private _updateAcceptButton(): void {
    const refused = this._options.preview?.refused ?? false;
    this.toggleClass('jp-mod-error', refused);
    const dialog = this.node.closest('.jp-Dialog');
    if (!dialog) {
      return;
    }
    const label = dialog.querySelector(
      '.jp-Dialog-button.jp-mod-accept .jp-Dialog-buttonLabel'
    );
    if (label) {
      this._acceptLabel ??= label.textContent ?? '';
      label.textContent = refused
        ? this._options.trans.__('Cannot make available')
        : this._acceptLabel;
    }
    // The Dialog checks its body at each input event (from any element).
    dialog.dispatchEvent(new Event('input'));
  }

  private _acceptLabel: string | null = null;
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
    /** What the server says each choice would do; disposed with the body. */
    preview?: RulePreviewModel | null;
  }
}
