/**
 * Notifications of the Data Lake's problems: the panel's state (an
 * instance not answering, credentials refused) and server failures of the
 * panel's requests.
 */
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import type { DataLakeRequestError } from '../api/request';
import type { DataLakeModel } from '../models/datalake';
import { IDataLakeModel } from '../tokens';

/**
 * Turns the model's problems into JupyterLab notifications.
 *
 * Each distinct problem is notified once, not at every failed poll, and its
 * notification is dismissed when the Data Lake answers again.
 */
export class ProblemNotifier implements IDisposable {
  constructor(options: ProblemNotifier.IOptions) {
    this._model = options.model;
    this._trans = options.trans;
    this._showPanel = options.showPanel;
    this._model.changed.connect(this._onModelChanged, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Notify the current problem again at the next change (after a manual refresh). */
  forgetProblem(): void {
    this._notifiedProblem = null;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.changed.disconnect(this._onModelChanged, this);
  }

  private _onModelChanged(): void {
    const model = this._model;
    const trans = this._trans;
    const actions = [
      {
        label: trans.__('Show Data Lake panel'),
        callback: () => this._showPanel()
      }
    ];

    let problem: string | null = null;
    if (model.connectionState === 'server-missing') {
      problem = trans.__(
        'The escape-dlaas server extension is not installed or not enabled.'
      );
    } else if (model.connectionState === 'error') {
      problem = trans.__(
        'Could not get the Data Lake status: %1',
        model.problem
      );
    }

    if (problem !== null && problem !== this._notifiedProblem) {
      this._dismissProblem();
      this._notifiedProblem = problem;
      this._problemNotificationId = Notification.error(problem, {
        // A missing server extension needs an administrator: keep it visible.
        autoClose: model.connectionState === 'server-missing' ? false : 10000,
        actions
      });
    } else if (problem === null && this._notifiedProblem !== null) {
      this._dismissProblem();
      this._notifiedProblem = null;
    }

    if (model.versionMismatch && !this._mismatchNotified) {
      this._mismatchNotified = true;
      Notification.warning(
        trans.__(
          'escape-dlaas versions differ: this page runs %1, the server extension %2. Reinstall escape-dlaas, restart JupyterLab and reload this page.',
          model.frontendVersion,
          model.status?.version
        ),
        { autoClose: false, actions }
      );
    }
  }

  private _dismissProblem(): void {
    if (this._problemNotificationId !== null) {
      Notification.dismiss(this._problemNotificationId);
      this._problemNotificationId = null;
    }
  }

  private _isDisposed = false;
  private _mismatchNotified = false;
  private _model: IDataLakeModel;
  private _notifiedProblem: string | null = null;
  private _problemNotificationId: string | null = null;
  private _showPanel: () => void;
  private _trans: TranslationBundle;
}

export namespace ProblemNotifier {
  export interface IOptions {
    model: IDataLakeModel;
    trans: TranslationBundle;
    /** Opens the Data Lake panel (notification action). */
    showPanel: () => void;
  }
}

/**
 * Notifies server and network failures of the panel's requests (search,
 * details, the availability poll), once per distinct message until they
 * succeed again. Input errors (4xx) are only shown in the panel, next to
 * what caused them.
 */
export class RequestErrorNotifier implements IDisposable {
  constructor(options: RequestErrorNotifier.IOptions) {
    this._model = options.model;
    this._trans = options.trans;
    this._showPanel = options.showPanel;
    this._model.search.changed.connect(this._check, this);
    this._model.details.changed.connect(this._check, this);
    this._model.watch.changed.connect(this._check, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.search.changed.disconnect(this._check, this);
    this._model.details.changed.disconnect(this._check, this);
    this._model.watch.changed.disconnect(this._check, this);
  }

  private _check(): void {
    const trans = this._trans;
    const model = this._model;
    // Each source: its last error, whether its last request succeeded, the words.
    const sources: [
      string,
      DataLakeRequestError | null,
      boolean,
      (message: string) => string
    ][] = [
      [
        'search',
        model.search.error,
        model.search.state === 'ready',
        message => trans.__('The search failed: %1', message)
      ],
      [
        'details',
        model.details.error,
        model.details.state === 'ready',
        message => trans.__('Could not load the details: %1', message)
      ],
      [
        'files',
        model.details.filesError,
        model.details.filesState === 'ready',
        message => trans.__('Could not load the files: %1', message)
      ],
      [
        'watch',
        model.watch.error,
        model.watch.error === null,
        message =>
          trans.__(
            'Could not update the availability of your data: %1',
            message
          )
      ]
    ];
    for (const [source, error, succeeded, words] of sources) {
      if (succeeded) {
        this._notified.delete(source);
        continue;
      }
      const serious =
        error !== null && (error.status === 0 || error.status >= 500);
      if (!serious || this._notified.get(source) === error.message) {
        continue;
      }
      this._notified.set(source, error.message);
      Notification.error(words(error.message), {
        autoClose: 10000,
        actions: [
          {
            label: trans.__('Show Data Lake panel'),
            callback: () => this._showPanel()
          }
        ]
      });
    }
  }

  private _isDisposed = false;
  private _model: DataLakeModel;
  private _notified = new Map<string, string>();
  private _showPanel: () => void;
  private _trans: TranslationBundle;
}

export namespace RequestErrorNotifier {
  export interface IOptions {
    model: DataLakeModel;
    trans: TranslationBundle;
    showPanel: () => void;
  }
}
