import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { ITarget } from '../api/types';
import { AlertMessage } from '../components/AlertMessage';
import {
  isLifetimeValid,
  TargetLifetimeFields
} from '../components/TargetLifetimeFields';
import { formatBytes } from '../format';
import type { DataLakeModel } from '../models/datalake';
import type { IMakeAllResult } from '../models/makeAll';
import { RulePreviewModel } from '../models/preview';
import { IAttachedDid } from './model';

/** The most DIDs whose preview the dialog asks for (one request each). */
export const MAX_PREVIEWS = 20;

/** What the user chose: where, for how long, and which DIDs (those Rucio would not refuse). */
export interface IMakeAllChoice {
  targetId: string;
  lifetimeDays: number;
  entries: IAttachedDid[];
}

/** One DID of the dialog with the server's preview for the chosen target. */
interface IPreviewed {
  entry: IAttachedDid;
  preview: RulePreviewModel | null;
}

/** The volume and refusals the previews report, for the chosen target. */
export function summarisePreviews(
  previewed: { entry: IAttachedDid; preview: RulePreviewModel | null }[],
  targetId: string
): {
  bytes: number;
  files: number;
  complete: boolean;
  refused: { did: string; message: string }[];
} {
  let bytes = 0;
  let files = 0;
  let complete = true;
  const refused: { did: string; message: string }[] = [];
  for (const { entry, preview } of previewed) {
    const answer =
      preview?.preview?.target.id === targetId ? preview.preview : null;
    if (answer === null || preview?.state !== 'ready') {
      complete = false;
      if (answer === null && entry.availability) {
        bytes +=
          targetId === 'notebook'
            ? entry.availability.bytes.total -
              entry.availability.bytes.at_notebook
            : entry.availability.bytes.total;
      }
      continue;
    }
    if (answer.outcome === 'refused') {
      refused.push({
        did: entry.did,
        message: answer.refusals.map(one => one.message).join(' ')
      });
      continue;
    }
    bytes += answer.to_move.bytes;
    files += answer.to_move.files;
  }
  return { bytes, files, complete, refused };
}

/**
 * Body of the "Make all available" dialog: the target and lifetime, the
 * total to move, and the DIDs Rucio would refuse (each DID's preview, asked
 * again for each new choice; disposed with the body).
 */
export class MakeAllBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IMakeAllChoice | null>
{
  constructor(options: MakeAllBody.IOptions) {
    super();
    this._options = options;
    this._targetId = options.defaultTargetId;
    this._lifetimeDays = options.defaultLifetimeDays;
    this._previewed = options.entries.map((entry, index) => ({
      entry,
      preview:
        index < MAX_PREVIEWS ? options.preview(entry.did, entry.instance) : null
    }));
    for (const { preview } of this._previewed) {
      preview?.changed.connect(() => this.update(), this);
    }
    this.addClass('jp-DLaaS-makeAllBody');
    this._ask();
  }

  getValue(): IMakeAllChoice | null {
    if (!isLifetimeValid(this._lifetimeDays)) {
      return null;
    }
    const refused = new Set(
      summarisePreviews(this._previewed, this._targetId).refused.map(
        one => one.did
      )
    );
    return {
      targetId: this._targetId,
      lifetimeDays: this._lifetimeDays,
      entries: this._options.entries.filter(entry => !refused.has(entry.did))
    };
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    for (const { preview } of this._previewed) {
      preview?.dispose();
    }
    super.dispose();
  }

  protected render(): JSX.Element {
    const { trans, targets, entries } = this._options;
    const target = targets.find(one => one.id === this._targetId);
    const summary = summarisePreviews(this._previewed, this._targetId);
    const id = `jp-DLaaS-makeAll-${this.id}`;
    return (
      <div className="jp-DLaaS-makeAvailable">
        <p>
          {this._options.headline?.(entries.length) ??
            trans._n(
              '%1 attached data set is not at the notebook yet.',
              '%1 attached data sets are not at the notebook yet.',
              entries.length
            )}
        </p>
        <TargetLifetimeFields
          id={id}
          targets={targets}
          value={{ targetId: this._targetId, lifetimeDays: this._lifetimeDays }}
          onTargetChange={targetId => {
            this._targetId = targetId;
            this._ask();
          }}
          onLifetimeChange={lifetimeDays => {
            this._lifetimeDays = lifetimeDays;
            this._ask();
          }}
          trans={trans}
        />
        <p className="jp-DLaaS-makeAllTotal" role="status">
          {summary.complete
            ? trans.__(
                'In total %1 will be copied to %2.',
                formatBytes(summary.bytes),
                target?.label ?? this._targetId
              )
            : trans.__(
                'In total about %1 will be copied to %2 (checking with Rucio…).',
                formatBytes(summary.bytes),
                target?.label ?? this._targetId
              )}
        </p>
        {entries.length > MAX_PREVIEWS && (
          <p className="jp-DLaaS-hint">
            {trans.__(
              'Only the first %1 were checked with Rucio beforehand.',
              MAX_PREVIEWS
            )}
          </p>
        )}
        {summary.refused.length > 0 && (
          <AlertMessage
            kind="warning"
            label={trans.__('Rucio would refuse some of the data')}
          >
            <p>
              {trans.__('These are left out (the others are made available):')}
            </p>
            <ul>
              {summary.refused.map(one => (
                <li key={one.did}>
                  <code>{one.did}</code>: {one.message}
                </li>
              ))}
            </ul>
          </AlertMessage>
        )}
      </div>
    );
  }

  private _ask(): void {
    for (const { preview } of this._previewed) {
      preview?.ask({
        target: this._targetId,
        lifetimeDays: this._lifetimeDays
      });
    }
    this.update();
  }

  private _lifetimeDays: number;
  private _options: MakeAllBody.IOptions;
  private _previewed: IPreviewed[];
  private _targetId: string;
}

export namespace MakeAllBody {
  export interface IOptions {
    entries: IAttachedDid[];
    targets: ITarget[];
    defaultTargetId: string;
    defaultLifetimeDays: number;
    trans: TranslationBundle;
    /** The dialog's first sentence for that many DIDs (default: about attached data). */
    headline?: (count: number) => string;
    /** A preview model for one DID (the panel's model makes them). */
    preview: (did: string, instance: string) => RulePreviewModel;
  }
}

/**
 * "Make all available" of some pending DIDs (a notebook's attachments, the
 * basket): the dialog (target, lifetime, total, refusals left out), then
 * `makeAvailable` with the choice.
 */
export async function showMakeAllDialog(options: {
  lake: DataLakeModel;
  /** The DIDs not at the notebook yet. */
  entries: IAttachedDid[];
  trans: TranslationBundle;
  /** Said instead of the dialog when `entries` is empty. */
  nothingPending: string;
  title: string;
  headline?: (count: number) => string;
  /** The feature model's make-all: one rule each for the chosen entries. */
  makeAvailable: (
    target: ITarget,
    lifetimeDays: number,
    entries: IAttachedDid[]
  ) => Promise<IMakeAllResult>;
}): Promise<void> {
  const { lake, entries, trans } = options;
  if (entries.length === 0) {
    Notification.info(options.nothingPending, { autoClose: 5000 });
    return;
  }
  await lake.catalogue.load();
  const targets = lake.catalogue.targets ?? [];
  if (targets.length === 0) {
    Notification.error(
      lake.catalogue.error?.message ??
        trans.__('This instance offers no target to make data available at.'),
      { autoClose: 10000 }
    );
    return;
  }
  const body = new MakeAllBody({
    entries,
    targets,
    defaultTargetId: lake.catalogue.defaultTarget?.id ?? targets[0].id,
    defaultLifetimeDays: lake.preferences.defaultLifetimeDays,
    trans,
    headline: options.headline,
    preview: (did, instance) => lake.previewMakeAvailable(did, instance)
  });
  const result = await showDialog({
    title: options.title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Make all available') })
    ],
    focusNodeSelector: 'select'
  });
  const choice = result.value;
  if (!result.button.accept || choice === null) {
    return;
  }
  const target = targets.find(one => one.id === choice.targetId) ?? targets[0];
  // Each transfer's progress, and each refusal, is notified by the panel's TransferNotifier.
  const outcome = await options.makeAvailable(
    target,
    choice.lifetimeDays,
    choice.entries
  );
  const unreported = outcome.failed.filter(one => one.unreported);
  if (unreported.length > 0) {
    Notification.error(
      trans.__(
        'Could not make available: %1',
        unreported.map(one => `${one.did}: ${one.message}`).join('; ')
      ),
      { autoClose: false }
    );
  }
}
