/**
 * Notebooks that carry their data: the "This notebook" tab of the Data Lake
 * panel, "Attach to notebook" on search results and details, a notebook
 * toolbar button, "Make all available", and the kernel API's requests
 * (`escape_dlaas.attach(...)` in a notebook's kernel reaches the open
 * notebook through a comm, so the notebook's document stays its only writer).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { DataLakeAPI } from '../api/client';
import { toRequestError } from '../api/request';
import { dataLakeIcon } from '../icons';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { DataLakeModel } from '../models/datalake';
import { PanelTab } from '../models/panelState';
import { CommandIDs, IDataLakeModel, TRANSLATION_DOMAIN } from '../tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { ATTACHMENTS, IAttachmentsActions } from './AttachmentsView';
import { attachmentDids, readAttachments } from './metadata';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { addToDocument, AttachmentsModel, IAttachmentsDocument } from './model';

/** Command ids of the attachments. */
export namespace AttachmentCommandIDs {
  export const attach = 'escape-dlaas:attach-to-notebook';
  export const attachSearch = 'escape-dlaas:attach-search-to-notebook';
  export const makeAllAvailable = 'escape-dlaas:make-attached-available';
  export const show = 'escape-dlaas:show-notebook-data';
}

/** Comm target the kernel API opens to attach data to its notebook (escape_dlaas/notebook/attachments.py). */
export const COMM_TARGET = 'escape-dlaas.attachments';

/** The panel's tab that shows the attachments (models/panelState.ts). */
const NOTEBOOK_TAB: PanelTab = 'notebook';

/** The notebook document of a panel, one adapter per panel (the model compares them). */
const documents = new WeakMap<NotebookPanel, IAttachmentsDocument>();

export function documentOf(panel: NotebookPanel): IAttachmentsDocument | null {
  const model = panel.model;
  if (!model) {
    return null;
  }
  let document = documents.get(panel);
  if (!document) {
    document = {
      get path() {
        return panel.context.path;
      },
      getMetadata: key => model.getMetadata(key),
      setMetadata: (key, value) => model.setMetadata(key, value),
      metadataChanged: model.metadataChanged
    };
    documents.set(panel, document);
  }
  return document;
}

/** What the tab's buttons and the commands do, with dialogs and notifications. */
export class AttachmentActions implements IAttachmentsActions {
  constructor(options: AttachmentActions.IOptions) {
    this._lake = options.lake;
    this._model = options.model;
    this._trans = options.trans;
    this._show = options.show;
  }

  async attachDid(did: string, instance?: string): Promise<void> {
    const trans = this._trans;
    try {
      const added = this._model.attachDid(did, instance);
      const path = this._model.document?.path ?? '';
      Notification.success(
        added
          ? trans.__(
              '%1 is attached to %2; save the notebook to keep it.',
              did.trim(),
              path
            )
          : trans.__('%1 is attached to %2 already.', did.trim(), path),
        {
          autoClose: 5000,
          actions: [{ label: trans.__('Show'), callback: () => this._show() }]
        }
      );
    } catch (error) {
      Notification.error(
        trans.__('Could not attach %1: %2', did, (error as Error).message),
        { autoClose: 10000 }
      );
    }
  }

  async attachSearch(): Promise<void> {
    const trans = this._trans;
    const draft = this._lake.search.draft;
    try {
      const added = await this._model.attachQuery({
        pattern: draft.pattern,
        filters: draft.filterText,
        scope: draft.scope,
        type: draft.type
      });
      Notification.success(
        added
          ? trans.__(
              'The search is attached to %1; save the notebook to keep it.',
              this._model.document?.path ?? ''
            )
          : trans.__('This search is attached already.'),
        {
          autoClose: 5000,
          actions: [{ label: trans.__('Show'), callback: () => this._show() }]
        }
      );
    } catch (error) {
      Notification.error(
        trans.__('Could not attach the search: %1', (error as Error).message),
        { autoClose: 10000 }
      );
    }
  }

  async makeAllAvailable(): Promise<void> {
    const trans = this._trans;
    const { showMakeAllDialog } = await import('./MakeAllDialog');
    await showMakeAllDialog({
      lake: this._lake,
      entries: this._model.totals.pending,
      trans,
      nothingPending: trans.__(
        'All the attached data is at the notebook already.'
      ),
      title: trans.__('Make all available'),
      makeAvailable: (target, lifetimeDays, entries) =>
        this._model.makeAllAvailable(target, lifetimeDays, entries)
    });
  }

  private _lake: DataLakeModel;
  private _model: AttachmentsModel;
  private _show: () => void;
  private _trans: TranslationBundle;
}

export namespace AttachmentActions {
  export interface IOptions {
    lake: DataLakeModel;
    model: AttachmentsModel;
    trans: TranslationBundle;
    /** Show the panel's "This notebook" tab. */
    show: () => void;
  }
}

export const attachmentsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'escape-dlaas:attachments',
  description:
    'Notebooks that carry their data: attach DIDs and searches to a notebook, see their availability, make them all available.',
  autoStart: true,
  requires: [IDataLakeModel],
  optional: [INotebookTracker, ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    dataLake: IDataLakeModel,
    tracker: INotebookTracker | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): void => {
    if (!(dataLake instanceof DataLakeModel)) {
      console.warn('escape-dlaas: no Data Lake panel model, no attachments.');
      return;
    }
    const lake = dataLake;
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const { commands } = app;
    const model = new AttachmentsModel({
      lake,
      api: new DataLakeAPI(app.serviceManager.serverSettings),
      pageSize: lake.preferences.searchPageSize
    });
    const show = (): void => {
      lake.closeDetails();
      lake.tab = NOTEBOOK_TAB;
      void commands.execute(CommandIDs.openPanel);
    };
    const actions = new AttachmentActions({ lake, model, trans, show });
    ATTACHMENTS.set(lake, { model, actions });

    if (tracker) {
      Private.followNotebooks(app, tracker, model, trans, show);
    }
    Private.addCommands(app, lake, model, actions, trans, show);

    app.contextMenu.addItem({
      command: AttachmentCommandIDs.attach,
      selector: '.jp-DLaaS-result[data-did]',
      rank: 20
    });
    app.contextMenu.addItem({
      command: AttachmentCommandIDs.attachSearch,
      selector: '.jp-DLaaS-results',
      rank: 21
    });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          icon: dataLakeIcon,
          label: trans.__('Data'),
          tooltip: trans.__(
            'Data attached to this notebook: availability, make all available, attach more'
          ),
          onClick: () => {
            model.document = documentOf(panel);
            show();
          }
        });
        panel.toolbar.insertItem(10, 'escape-dlaas-attachments', button);
        return button;
      }
    });

    if (palette) {
      const category = trans.__('Data Lake');
      for (const command of [
        AttachmentCommandIDs.attach,
        AttachmentCommandIDs.makeAllAvailable,
        AttachmentCommandIDs.show
      ]) {
        palette.addItem({ command, category });
      }
    }
  }
};

namespace Private {
  /**
   * Keep the model on the active notebook; say once per notebook that it
   * carries data; answer the kernel API's comm in every notebook.
   */
  export function followNotebooks(
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    model: AttachmentsModel,
    trans: TranslationBundle,
    show: () => void
  ): void {
    const announced = new Set<string>();
    const follow = (panel: NotebookPanel | null): void => {
      if (panel === null) {
        model.document = null;
        return;
      }
      void panel.context.ready.then(() => {
        if (tracker.currentWidget !== panel) {
          return;
        }
        model.document = documentOf(panel);
        const path = panel.context.path;
        const count = model.attachments.length;
        if (count > 0 && !announced.has(path)) {
          announced.add(path);
          Notification.info(
            trans._n(
              '%2 carries %1 data attachment.',
              '%2 carries %1 data attachments.',
              count,
              path
            ),
            {
              autoClose: 8000,
              actions: [{ label: trans.__('Show'), callback: show }]
            }
          );
        }
      });
    };
    tracker.currentChanged.connect((_, panel) => follow(panel));
    follow(tracker.currentWidget);

    const listen = (panel: NotebookPanel): void => {
      const register = (kernel: Kernel.IKernelConnection | null): void => {
        kernel?.registerCommTarget(COMM_TARGET, (comm, message) =>
          receive(panel, comm, message, trans)
        );
      };
      panel.sessionContext.kernelChanged.connect((_, change) => {
        change.oldValue?.removeCommTarget(COMM_TARGET, () => undefined);
        register(change.newValue);
      });
      register(panel.sessionContext.session?.kernel ?? null);
    };
    tracker.forEach(listen);
    tracker.widgetAdded.connect((_, panel) => listen(panel));
  }

  /**
   * `escape_dlaas.attach(...)` in the notebook's kernel: add what it sends
   * to that notebook's document (unsaved, like any edit), answer, close.
   */
  async function receive(
    panel: NotebookPanel,
    comm: Kernel.IComm,
    message: KernelMessage.ICommOpenMsg,
    trans: TranslationBundle
  ): Promise<void> {
    const data = message.content.data as { attachment?: unknown };
    const read = readAttachments({ attachments: [data.attachment] });
    const document = documentOf(panel);
    let reply: { ok: boolean; message: string };
    if (document === null || read.attachments.length !== 1) {
      reply = {
        ok: false,
        message: 'The notebook could not take this attachment.'
      };
    } else {
      const attachment = read.attachments[0];
      const added = addToDocument(document, attachment);
      const what = attachmentDids(attachment).join(', ') || 'the search';
      reply = {
        ok: true,
        message: added
          ? `Attached ${what} to ${document.path}.`
          : `${what} was attached to ${document.path} already.`
      };
      Notification.info(
        trans.__('%1 Save the notebook to keep it.', reply.message),
        { autoClose: 5000 }
      );
    }
    comm.send(reply);
    comm.close();
  }

  /** The DID of the search result right-clicked, if the context menu was opened on one. */
  function clickedDid(app: JupyterFrontEnd): string | null {
    const node = app.contextMenuHitTest(
      candidate => candidate.dataset?.did !== undefined
    );
    return node?.dataset.did ?? null;
  }

  export function addCommands(
    app: JupyterFrontEnd,
    lake: DataLakeModel,
    model: AttachmentsModel,
    actions: AttachmentActions,
    trans: TranslationBundle,
    show: () => void
  ): void {
    const { commands } = app;
    commands.addCommand(AttachmentCommandIDs.attach, {
      label: trans.__('Attach to Notebook'),
      caption: trans.__(
        'Keep a DID in the active notebook: it travels with it, and escape_dlaas.attached() gives its local paths'
      ),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            did: { type: 'string' },
            instance: { type: 'string' }
          }
        }
      },
      execute: async (args: ReadonlyPartialJSONObject) => {
        let did =
          (typeof args['did'] === 'string' && args['did']) ||
          clickedDid(app) ||
          null;
        if (did === null) {
          const result = await InputDialog.getText({
            title: trans.__('Attach to notebook'),
            label: trans.__('Data identifier (scope:name)'),
            text: lake.details.did ?? '',
            okLabel: trans.__('Attach'),
            cancelLabel: trans.__('Cancel')
          });
          did = result.button.accept ? (result.value ?? '').trim() : null;
        }
        if (did) {
          const instance =
            typeof args['instance'] === 'string' ? args['instance'] : undefined;
          await actions.attachDid(did, instance);
        }
      }
    });
    commands.addCommand(AttachmentCommandIDs.attachSearch, {
      label: trans.__('Attach This Search to Notebook'),
      describedBy: { args: { type: 'object', properties: {} } },
      caption: trans.__(
        'Keep the search (name, scope, type, metadata filter) in the active notebook; its results are found again when asked'
      ),
      execute: () => actions.attachSearch()
    });
    commands.addCommand(AttachmentCommandIDs.makeAllAvailable, {
      label: trans.__('Make All Attached Data Available…'),
      describedBy: { args: { type: 'object', properties: {} } },
      isEnabled: () => model.document !== null,
      execute: () =>
        actions.makeAllAvailable().catch(reason => {
          Notification.error(toRequestError(reason).message, {
            autoClose: 10000
          });
        })
    });
    commands.addCommand(AttachmentCommandIDs.show, {
      label: trans.__('Show the Data of This Notebook'),
      describedBy: { args: { type: 'object', properties: {} } },
      icon: args => (args['isPalette'] ? undefined : dataLakeIcon),
      execute: show
    });
  }
}
