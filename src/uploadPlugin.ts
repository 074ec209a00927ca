/**
 * "Upload to Data Lake…" on files and folders of the file browser: a dialog
 * with the lake's check (checksums, identical files, quota), then the upload
 * followed in a notification.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { fileUploadIcon } from '@jupyterlab/ui-components';

import type { DataLakeAPI } from './api/client';
import { toRequestError } from './api/request';
import { CommandIDs, IDataLakeModel, TRANSLATION_DOMAIN } from './tokens';
import type { UploadsModel } from './upload/model';

/** The upload command (file browser context menu, command palette). */
export const UPLOAD_COMMAND = 'escape-dlaas:upload';

/** Items of the file browser's listing: files and folders alike. */
const LISTING_ITEMS = '.jp-DirListing-item[data-isdir]';

export const uploadPlugin: JupyterFrontEndPlugin<void> = {
  id: 'escape-dlaas:upload',
  description:
    'Upload files and folders from the file browser to the data lake, with metadata.',
  autoStart: true,
  requires: [IFileBrowserFactory, IDataLakeModel],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    factory: IFileBrowserFactory,
    lake: IDataLakeModel,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    // Loaded at the first upload: nothing of it is needed before.
    let services: Promise<{ api: DataLakeAPI; uploads: UploadsModel }> | null =
      null;
    const load = () =>
      (services ??= (async () => {
        const [{ DataLakeAPI }, { UploadsModel }, { UploadNotifier }] =
          await Promise.all([
            import('./api/client'),
            import('./upload/model'),
            import('./upload/notifier')
          ]);
        const api = new DataLakeAPI(app.serviceManager.serverSettings);
        const uploads = new UploadsModel({ api });
        // kept for the page's life, as the Data Lake panel's notifiers
        new UploadNotifier({
          model: uploads,
          trans,
          showDetails: did =>
            void app.commands.execute(CommandIDs.showDetails, { did }),
          makeAvailable: did =>
            void app.commands.execute(CommandIDs.makeAvailable, { did }),
          showFull: message =>
            void showDialog({
              title: trans.__('Upload'),
              body: message,
              buttons: [Dialog.okButton({ label: trans.__('Close') })]
            })
        });
        return { api, uploads };
      })());

    const selectedPaths = (): string[] => {
      const browser = factory.tracker.currentWidget;
      return browser
        ? Array.from(browser.selectedItems()).map(item => item.path)
        : [];
    };

    app.commands.addCommand(UPLOAD_COMMAND, {
      label: trans.__('Upload to Data Lake…'),
      caption: trans.__(
        'Upload the selected files and folders to the data lake, with metadata'
      ),
      icon: fileUploadIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      isEnabled: () => selectedPaths().length > 0,
      execute: async () => {
        const paths = selectedPaths();
        const instance = lake.instanceName;
        if (paths.length === 0 || instance === null) {
          return;
        }
        const [{ api, uploads }, { UploadBody }] = await Promise.all([
          load(),
          import('./upload/UploadForm')
        ]);
        let options;
        try {
          options = await api.uploadOptions(instance);
        } catch (reason) {
          Notification.error(toRequestError(reason).message, {
            autoClose: 10000
          });
          return;
        }
        const body = new UploadBody({
          paths,
          options,
          check: (request, signal) =>
            api.checkUpload(instance, request, signal),
          trans
        });
        const result = await showDialog({
          title: trans.__('Upload to the data lake'),
          body,
          buttons: [
            Dialog.cancelButton({ label: trans.__('Cancel') }),
            Dialog.okButton({ label: trans.__('Upload') })
          ],
          focusNodeSelector: 'input'
        });
        if (!result.button.accept || !result.value) {
          return;
        }
        try {
          uploads.follow(await api.startUpload(instance, result.value));
        } catch (reason) {
          Notification.error(toRequestError(reason).message, {
            autoClose: false
          });
        }
      }
    });
    app.contextMenu.addItem({
      command: UPLOAD_COMMAND,
      selector: LISTING_ITEMS,
      rank: 12
    });
  }
};
