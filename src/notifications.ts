import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { IDataLakeModel } from './tokens';

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
