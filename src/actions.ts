/**
 * What the panel's buttons ask JupyterLab to do: dialogs, notifications, the
 * file browser, the clipboard, the active notebook. Components call an
 * `IDataLakeActions` (tokens.ts); the plugin gives them the one below, tests a fake.
 */
import {
  Clipboard,
  Dialog,
  InputDialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

import { MakeAvailableBody } from './components/MakeAvailableForm';
import { formatDuration } from './format';
import { IDidPathsResponse, IRule } from './api/types';
import { DataLakeModel } from './models/datalake';
import { NOTIFICATION_MAX_LENGTH } from './notifications/transfers';
import { pathsSnippet } from './snippets';
import { IDataLakeActions, IMakeAvailableItem } from './tokens';

/** The notebook side of inserting code; the plugin adapts INotebookTracker to it. */
export interface INotebookTarget {
  /** The kernel language of the active notebook, or null without one. */
  language(): string | null;
  /** Insert a code cell below the active cell; false without an active notebook. */
  insertCodeBelow(source: string): boolean;
}

/** The file browser side: show a folder given relative to the server root. */
export type OpenFolder = (relativePath: string) => Promise<void>;

/** The actions of the Data Lake panel, backed by JupyterLab. */
export class DataLakeActions implements IDataLakeActions {
  constructor(options: DataLakeActions.IOptions) {
    this._model = options.model;
    this._trans = options.trans;
    this._openFolder = options.openFolder;
    this._notebook = options.notebook ?? null;
    this._openSettings = options.openSettings;
    this._serverRoot =
      options.serverRoot ?? (() => PageConfig.getOption('serverRoot'));
    this._copy = options.copy ?? (text => Clipboard.copyToSystem(text));
  }

  get canInsertSnippet(): boolean {
    return this._notebook !== null && this._notebook.language() !== null;
  }

  async makeAvailable(item: IMakeAvailableItem): Promise<void> {
    const trans = this._trans;
    const model = this._model;
    await model.catalogue.load();
    const targets = model.catalogue.targets ?? [];
    if (targets.length === 0) {
      Notification.error(
        model.catalogue.error?.message ??
          trans.__('This instance offers no target to make data available at.'),
        { autoClose: 10000 }
      );
      return;
    }
    const body = new MakeAvailableBody({
      item: {
        ...item,
        availability: model.availabilityOf(item.did, item.availability)
      },
      targets,
      defaultTargetId: model.catalogue.defaultTarget?.id ?? targets[0].id,
      defaultLifetimeDays: model.preferences.defaultLifetimeDays,
      trans,
      // Asked before the click: embargo, quota, storage, an existing rule.
      preview: model.previewMakeAvailable(item.did)
    });
    const result = await showDialog({
      title: trans.__('Make available'),
      body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Make available') })
      ],
      focusNodeSelector: 'select'
    });
    if (!result.button.accept || result.value === null) {
      return;
    }
    const target =
      targets.find(candidate => candidate.id === result.value!.targetId) ??
      targets[0];
    // Progress is notified by the TransferNotifier, from the model.
    await model.makeAvailable({
      did: item.did,
      target,
      lifetimeDays: result.value.lifetimeDays
    });
  }

  async extendRule(rule: IRule): Promise<void> {
    const trans = this._trans;
    const days = await Private.askDays(
      trans.__('Extend rule'),
      trans.__(
        'Keep the copies of %1 at %2 for how many days from now?',
        rule.did,
        rule.rse_expression
      ),
      this._model.preferences.defaultLifetimeDays,
      trans
    );
    if (days === null) {
      return;
    }
    try {
      await this._model.extendRule(rule.id, days);
      Notification.success(
        trans.__(
          'The rule on %1 at %2 now lasts %3 from now.',
          rule.did,
          rule.rse_expression,
          formatDuration(days * 86400, trans)
        ),
        { autoClose: 5000 }
      );
    } catch (error) {
      Notification.error(
        trans.__('Could not extend the rule: %1', (error as Error).message),
        { autoClose: false }
      );
    }
  }

  async cancelRule(rule: IRule): Promise<void> {
    const trans = this._trans;
    const result = await showDialog({
      title: trans.__('Cancel rule'),
      body: trans.__(
        'Cancel your rule on %1 at %2? Rucio may then delete the copies it kept there (other rules keep theirs).',
        rule.did,
        rule.rse_expression
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Keep the rule') }),
        Dialog.warnButton({ label: trans.__('Cancel rule') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await this._model.cancelRule(rule.id);
      Notification.success(
        trans.__(
          'Your rule on %1 at %2 is cancelled.',
          rule.did,
          rule.rse_expression
        ),
        { autoClose: 5000 }
      );
    } catch (error) {
      Notification.error(
        trans.__('Could not cancel the rule: %1', (error as Error).message),
        { autoClose: false }
      );
    }
  }

  /**
   * Show the DID's own folder (`data-lake/<scope>/<dataset>`, links named as
   * in Rucio) in the file browser; the server gives it relative to the root
   * the file browser shows, or null when it is outside.
   */
  async openInFileBrowser(did: string): Promise<void> {
    const trans = this._trans;
    const paths = await this._paths(did);
    const directory = paths ? Private.directoryOf(paths) : null;
    if (!paths || !directory) {
      return;
    }
    const relative = paths.relative_directory ?? null;
    if (relative === null) {
      Notification.warning(
        trans.__(
          'The files of %1 are in %2, outside the folder JupyterLab shows (%3): the file browser cannot open it. Use "Copy path" or "Insert paths in notebook" instead.',
          did,
          directory,
          this._serverRoot() || trans.__('unknown')
        ),
        {
          autoClose: false,
          actions: [
            {
              label: trans.__('Copy path'),
              callback: () => this.copyPath(directory)
            }
          ]
        }
      );
      return;
    }
    await this._openFolder(relative);
  }

  copyPath(path: string): void {
    this._copy(path);
    Notification.info(this._trans.__('Copied %1', path), { autoClose: 3000 });
  }

  /** Copy the DID's own folder (where its links are). */
  async copyPaths(did: string): Promise<void> {
    const paths = await this._paths(did);
    const directory = paths ? Private.directoryOf(paths) : null;
    if (directory) {
      this.copyPath(directory);
    }
  }

  /**
   * Copy the path of one file of a DID: its link in the DID's folder, asked
   * for now (the moment the server brings the folder in line); the file's
   * own local path when the folder has no link for it or cannot be read.
   */
  async copyFilePath(
    did: string,
    fileDid: string,
    localPath: string
  ): Promise<void> {
    let path = localPath;
    try {
      const paths = await this._model.paths(did);
      this._noteFolderProblem(did, paths);
      path = paths.paths[fileDid] ?? localPath;
    } catch {
      // The file's own path still opens it.
    }
    this.copyPath(path);
  }

  async insertSnippet(did: string): Promise<void> {
    const trans = this._trans;
    const notebook = this._notebook;
    if (notebook === null || notebook.language() === null) {
      Notification.warning(
        trans.__(
          'Open a notebook first: the paths are inserted into the active notebook.'
        ),
        { autoClose: 5000 }
      );
      return;
    }
    const paths = await this._paths(did);
    if (paths === null) {
      return;
    }
    const source = pathsSnippet({
      did,
      paths: Object.values(paths.paths).sort(),
      missing: paths.missing,
      language: notebook.language() ?? undefined,
      comments: {
        header: trans.__('Local paths of the files of %1 (escape-dlaas)', did),
        missing: trans._n(
          '%1 file is not at the notebook yet: make %2 available, then insert again.',
          '%1 files are not at the notebook yet: make %2 available, then insert again.',
          paths.missing.length,
          did
        )
      }
    });
    if (!notebook.insertCodeBelow(source)) {
      Notification.warning(
        trans.__(
          'Open a notebook first: the paths are inserted into the active notebook.'
        ),
        { autoClose: 5000 }
      );
    }
  }

  openSettings(): void {
    this._openSettings();
  }

  /**
   * The DID's local paths, asked every time: asking is what brings the DID's
   * folder in line with Rucio. Null when there are none (the reason is notified).
   */
  private async _paths(did: string): Promise<IDidPathsResponse | null> {
    const trans = this._trans;
    let paths: IDidPathsResponse;
    try {
      paths = await this._model.paths(did);
    } catch (error) {
      Notification.error(
        trans.__(
          'Could not find the local files of %1: %2',
          did,
          (error as Error).message
        ),
        { autoClose: 10000 }
      );
      return null;
    }
    this._noteFolderProblem(did, paths);
    if (Object.keys(paths.paths).length === 0) {
      Notification.warning(
        trans.__(
          'No file of %1 is at the notebook yet: make it available first.',
          did
        ),
        { autoClose: 5000 }
      );
      return null;
    }
    return paths;
  }

  /** Say what kept files out of the DID's folder, when something did. */
  private _noteFolderProblem(did: string, paths: IDidPathsResponse): void {
    const problem = paths.folder_problem;
    if (!problem) {
      return;
    }
    const trans = this._trans;
    const message = trans.__('%1: %2', did, problem);
    Notification.warning(message, {
      autoClose: 20000,
      actions:
        message.length > NOTIFICATION_MAX_LENGTH
          ? [
              {
                label: trans.__('Show full message'),
                caption: trans.__('Show the whole explanation'),
                callback: () =>
                  void showDialog({
                    title: trans.__('The folder of %1', did),
                    body: problem,
                    buttons: [Dialog.okButton({ label: trans.__('Close') })]
                  }).catch(() => undefined)
              }
            ]
          : []
    });
  }

  private _copy: (text: string) => void;
  private _model: DataLakeModel;
  private _notebook: INotebookTarget | null;
  private _openFolder: OpenFolder;
  private _openSettings: () => void;
  private _serverRoot: () => string;
  private _trans: TranslationBundle;
}

export namespace DataLakeActions {
  export interface IOptions {
    model: DataLakeModel;
    trans: TranslationBundle;
    /** Shows a folder (relative to the server root) in the file browser. */
    openFolder: OpenFolder;
    /** The active notebook, if the notebook plugin is there. */
    notebook?: INotebookTarget | null;
    openSettings: () => void;
    /** The server's root directory, named in messages; defaults to PageConfig's `serverRoot`. */
    serverRoot?: () => string;
    /** Copies text; defaults to JupyterLab's clipboard. */
    copy?: (text: string) => void;
  }
}

namespace Private {
  /** The folder to show for a DID: the server's, else its one file's folder. */
  export function directoryOf(paths: IDidPathsResponse): string | null {
    if (paths.directory) {
      return paths.directory;
    }
    const first = Object.values(paths.paths)[0];
    return first ? first.slice(0, first.lastIndexOf('/')) || '/' : null;
  }

  /** Ask for a number of days (1 or more); null when cancelled. */
  export async function askDays(
    title: string,
    label: string,
    value: number,
    trans: TranslationBundle
  ): Promise<number | null> {
    const result = await InputDialog.getNumber({
      title,
      label,
      value,
      okLabel: trans.__('Extend'),
      cancelLabel: trans.__('Cancel')
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    const days = Number(result.value);
    if (!Number.isFinite(days) || days <= 0) {
      Notification.error(trans.__('A lifetime is a number of days above 0.'), {
        autoClose: 5000
      });
      return null;
    }
    return days;
  }
}
