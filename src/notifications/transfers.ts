/**
 * Notifications of "make available": one per transfer, from the request to
 * its outcome.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { formatBytes } from '../format';
import type { ITransfer, TransfersModel } from '../models/transfers';
import { IDataLakeActions } from '../tokens';

/**
 * Turns each "make available" of the model into one JupyterLab notification:
 * in progress (with the progress the watch poll reports), then success with
 * "Open in file browser" and "Copy path", or an error with the server's or
 * Rucio's reason.
 *
 * JupyterLab loses an update that comes before its toast is shown (the toast
 * library loads lazily), so the first notification waits `emitDelay` (a quick
 * answer, e.g. a refusal, is then notified once, as it is), and updates come
 * at least `minUpdateInterval` after it, the latest state winning.
 */
export class TransferNotifier implements IDisposable {
  constructor(options: TransferNotifier.IOptions) {
    this._transfers = options.transfers;
    this._trans = options.trans;
    this._actions = options.actions;
    this._showDetails = options.showDetails;
    this._emitDelay = options.emitDelay ?? 500;
    this._minUpdateInterval = options.minUpdateInterval ?? 1500;
    this._transfers.transferChanged.connect(this._onTransferChanged, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The notification id of a transfer, if notified. */
  notificationId(transfer: ITransfer): string | undefined {
    return this._ids.get(transfer.id);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._transfers.transferChanged.disconnect(this._onTransferChanged, this);
    for (const timer of this._timers.values()) {
      clearTimeout(timer);
    }
    this._timers.clear();
  }

  private _onTransferChanged(_: TransfersModel, transfer: ITransfer): void {
    if (this._timers.has(transfer.id)) {
      return; // already scheduled: it will show the latest state
    }
    const emittedAt = this._emittedAt.get(transfer.id);
    const wait =
      emittedAt === undefined
        ? this._emitDelay
        : emittedAt + this._minUpdateInterval - Date.now();
    if (wait <= 0) {
      this._show(transfer);
      return;
    }
    this._timers.set(
      transfer.id,
      setTimeout(() => {
        this._timers.delete(transfer.id);
        if (!this._isDisposed) {
          this._show(transfer);
        }
      }, wait)
    );
  }

  /** Notify the transfer's current state (emit the first time, update after). */
  private _show(transfer: ITransfer): void {
    const trans = this._trans;
    const { message, type, autoClose } = describeTransfer(transfer, trans);
    const actions: Notification.IAction[] = [];
    if (transfer.state === 'done' && transfer.towardsNotebook) {
      actions.push(
        {
          label: trans.__('Open in file browser'),
          caption: trans.__('Show the folder of the files in the file browser'),
          callback: () => void this._actions.openInFileBrowser(transfer.did)
        },
        {
          label: trans.__('Copy path'),
          caption: trans.__('Copy the local folder of the files'),
          // Asked again: asking brings the DID's folder in line with Rucio.
          callback: () => void this._actions.copyPaths(transfer.did)
        }
      );
    }
    if (transfer.state === 'failed') {
      const full = transfer.error?.message ?? transfer.stuckReason ?? '';
      if (message.length > NOTIFICATION_MAX_LENGTH) {
        actions.push({
          label: trans.__('Show full message'),
          caption: trans.__('Show the whole explanation'),
          callback: () =>
            void showDialog({
              title: trans.__('Could not make %1 available', transfer.did),
              body: full || message,
              buttons: [Dialog.okButton({ label: trans.__('Close') })]
            }).catch(() => undefined)
        });
      }
    }
    if (transfer.state !== 'requesting') {
      actions.push({
        label: trans.__('Show details'),
        caption: trans.__('Show the rules and files of %1', transfer.did),
        callback: () => this._showDetails(transfer.instance, transfer.did)
      });
    }
    const id = this._ids.get(transfer.id);
    if (id === undefined) {
      this._ids.set(
        transfer.id,
        Notification.emit(message, type, { autoClose, actions })
      );
      this._emittedAt.set(transfer.id, Date.now());
    } else {
      Notification.update({ id, message, type, autoClose, actions });
    }
  }

  private _actions: IDataLakeActions;
  private _emitDelay: number;
  private _emittedAt = new Map<number, number>();
  private _minUpdateInterval: number;
  private _timers = new Map<number, ReturnType<typeof setTimeout>>();
  private _ids = new Map<number, string>();
  private _isDisposed = false;
  private _showDetails: (instance: string, did: string) => void;
  private _trans: TranslationBundle;
  private _transfers: TransfersModel;
}

export namespace TransferNotifier {
  export interface IOptions {
    transfers: TransfersModel;
    trans: TranslationBundle;
    actions: IDataLakeActions;
    /** Opens the Data Lake panel on a DID's details. */
    showDetails: (instance: string, did: string) => void;
    /** Milliseconds before the first notification of a transfer (default 500). */
    emitDelay?: number;
    /** Least milliseconds between that notification and its updates (default 1500). */
    minUpdateInterval?: number;
  }
}

/** JupyterLab cuts notification messages after this many characters. */
export const NOTIFICATION_MAX_LENGTH = 140;

/**
 * A server message made to fit a notification: a leading "scope:name: " is
 * dropped when the rest names the DID anyway (the reason, often last, then
 * survives JupyterLab's cut at 140 characters).
 */
export function compactMessage(message: string, did: string): string {
  const prefix = `${did}:`;
  if (message.startsWith(prefix)) {
    const rest = message.slice(prefix.length).trim();
    if (rest.includes(did)) {
      return rest;
    }
  }
  return message;
}

/** The message, type and auto-close delay of a transfer's notification. */
export function describeTransfer(
  transfer: ITransfer,
  trans: TranslationBundle
): {
  message: string;
  type: Notification.TypeOptions;
  autoClose: number | false;
} {
  const where = transfer.target.label;
  switch (transfer.state) {
    case 'requesting':
      return {
        message: trans.__(
          'Asking Rucio to make %1 available at %2…',
          transfer.did,
          where
        ),
        type: 'in-progress',
        autoClose: false
      };
    case 'in-progress': {
      const existing =
        transfer.created === false
          ? trans.__('Your rule exists already. ')
          : '';
      if (transfer.towardsNotebook) {
        const availability = transfer.availability;
        if (availability === null || availability.files.total === 0) {
          return {
            message:
              existing + trans.__('Copying %1 to %2…', transfer.did, where),
            type: 'in-progress',
            autoClose: false
          };
        }
        return {
          message:
            existing +
            trans.__(
              'Copying %1 to %2: %3 of %4 files (%5 of %6)',
              transfer.did,
              where,
              availability.files.at_notebook,
              availability.files.total,
              formatBytes(availability.bytes.at_notebook),
              formatBytes(availability.bytes.total)
            ),
          type: 'in-progress',
          autoClose: false
        };
      }
      const locks = transfer.rule?.locks ?? { ok: 0, replicating: 0, stuck: 0 };
      return {
        message:
          existing +
          trans.__(
            'Copying %1 to %2 (%3): %4 of %5 files done',
            transfer.did,
            where,
            transfer.rule?.rse_expression ?? '',
            locks.ok,
            locks.ok + locks.replicating + locks.stuck
          ),
        type: 'in-progress',
        autoClose: false
      };
    }
    case 'done':
      if (transfer.towardsNotebook) {
        const files = transfer.availability?.files.total;
        return {
          message:
            files !== undefined
              ? trans._n(
                  '%2 is available at the notebook (%1 file, %3).',
                  '%2 is available at the notebook (%1 files, %3).',
                  files,
                  transfer.did,
                  formatBytes(transfer.availability?.bytes.total)
                )
              : trans.__('%1 is available at the notebook.', transfer.did),
          type: 'success',
          autoClose: 30000
        };
      }
      return {
        message: trans.__(
          '%1 is stored at %2 (%3).',
          transfer.did,
          where,
          transfer.rule?.rse_expression ?? ''
        ),
        type: 'success',
        autoClose: 30000
      };
    case 'failed':
    default:
      if (transfer.error) {
        // The server's words, written for the scientist: they name the DID.
        return {
          message: compactMessage(transfer.error.message, transfer.did),
          type: 'error',
          autoClose: false
        };
      }
      return {
        message: trans.__(
          'The copy of %1 to %2 is stuck: %3',
          transfer.did,
          where,
          transfer.stuckReason ?? trans.__('Rucio gives no reason')
        ),
        type: 'error',
        autoClose: false
      };
  }
}
