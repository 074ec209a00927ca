import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { IUpload } from '../api/types';
import { formatBytes, formatDateTime, parseRucioDate } from '../format';
import { UploadsModel } from './model';

/** Files named in an in-progress message at most (JupyterLab cuts at 140 characters). */
const FILES_NAMED = 1;

/** The message, type and auto-close delay of an upload's notification. */
export function describeUpload(
  upload: IUpload,
  trans: TranslationBundle
): {
  message: string;
  type: Notification.TypeOptions;
  autoClose: number | false;
} {
  switch (upload.state) {
    case 'RUNNING': {
      if (upload.phase === 'registering') {
        return {
          message: trans.__(
            'Registering %1 files in %2…',
            upload.files.total + upload.files.attached,
            upload.dataset
          ),
          type: 'in-progress',
          autoClose: false
        };
      }
      const current = upload.items
        .filter(item => item.action === 'upload' && item.state === 'COPYING')
        .slice(0, FILES_NAMED)
        .map(
          item =>
            `${item.path.split('/').pop()} ${formatBytes(item.done_bytes)}/${formatBytes(item.bytes)}`
        )
        .join(', ');
      return {
        message:
          trans.__(
            'Uploading to %1: %2 of %3 files, %4 of %5',
            upload.dataset,
            upload.files.done,
            upload.files.total,
            formatBytes(upload.bytes.done),
            formatBytes(upload.bytes.total)
          ) + (current ? ` (${current})` : ''),
        type: 'in-progress',
        autoClose: false
      };
    }
    case 'DONE': {
      const expires = parseRucioDate(upload.rule?.expires_at ?? null);
      return {
        message: trans.__(
          '%1 files (%2) uploaded to %3 at %4, %5 attached; rule %6 keeps them %7.',
          upload.files.total,
          formatBytes(upload.bytes.total),
          upload.dataset,
          upload.rse,
          upload.files.attached,
          upload.rule?.id ?? '',
          expires
            ? trans.__('until %1', formatDateTime(expires))
            : trans.__('without end')
        ),
        type: 'success',
        autoClose: false
      };
    }
    case 'CANCELLED':
      return {
        message: upload.error ?? trans.__('The upload was cancelled.'),
        type: 'warning',
        autoClose: 15000
      };
    case 'FAILED':
    default:
      return {
        message: upload.error ?? trans.__('The upload failed.'),
        type: 'error',
        autoClose: false
      };
  }
}

/**
 * One JupyterLab notification per upload: progress per file and overall with
 * Cancel, then the outcome (the dataset, its RSE, the rule that keeps it)
 * with Show details and Make available, or the error.
 */
export class UploadNotifier implements IDisposable {
  constructor(options: UploadNotifier.IOptions) {
    this._model = options.model;
    this._trans = options.trans;
    this._showDetails = options.showDetails;
    this._makeAvailable = options.makeAvailable;
    this._showFull = options.showFull;
    this._model.uploadChanged.connect(this._onChanged, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The notification id of an upload, once notified. */
  notificationId(uploadId: string): string | undefined {
    return this._ids.get(uploadId);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.uploadChanged.disconnect(this._onChanged, this);
  }

  private _onChanged(_: UploadsModel, upload: IUpload): void {
    const trans = this._trans;
    const { message, type, autoClose } = describeUpload(upload, trans);
    const actions: Notification.IAction[] = [];
    if (upload.state === 'RUNNING' && upload.phase === 'copying') {
      actions.push({
        label: trans.__('Cancel upload'),
        caption: trans.__('Stop; nothing is registered in the lake'),
        callback: () => void this._model.cancel(upload).catch(() => undefined)
      });
    }
    if (upload.state === 'DONE') {
      actions.push(
        {
          label: trans.__('Show details'),
          caption: trans.__('Show the rules and files of %1', upload.dataset),
          callback: () => this._showDetails(upload.dataset)
        },
        {
          label: trans.__('Make available'),
          caption: trans.__('Bring %1 to other storage', upload.dataset),
          callback: () => this._makeAvailable(upload.dataset)
        }
      );
    }
    if (upload.state !== 'RUNNING' && message.length > 140) {
      actions.push({
        label: trans.__('Show full message'),
        callback: () => this._showFull(message)
      });
    }
    const id = this._ids.get(upload.id);
    if (id === undefined) {
      this._ids.set(
        upload.id,
        Notification.emit(message, type, { autoClose, actions })
      );
    } else {
      Notification.update({ id, message, type, autoClose, actions });
    }
  }

  private _ids = new Map<string, string>();
  private _isDisposed = false;
  private _makeAvailable: (did: string) => void;
  private _model: UploadsModel;
  private _showDetails: (did: string) => void;
  private _showFull: (message: string) => void;
  private _trans: TranslationBundle;
}

export namespace UploadNotifier {
  export interface IOptions {
    model: UploadsModel;
    trans: TranslationBundle;
    showDetails: (did: string) => void;
    makeAvailable: (did: string) => void;
    /** Show a message too long for a notification. */
    showFull: (message: string) => void;
  }
}
