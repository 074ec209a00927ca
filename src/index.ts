import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import {
  downloadIcon,
  refreshIcon,
  searchIcon,
  settingsIcon
} from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Debouncer } from '@lumino/polling';

import { DataLakeActions, INotebookTarget } from './actions';
import { attachmentsPlugin } from './attachments/plugin';
import { basketPlugin } from './basket/plugin';
import { DataLakePanel } from './components/DataLakePanel';
import { dataLakeIcon } from './icons';
import { DidTypeFilter } from './api/types';
import { DataLakeModel } from './models/datalake';
import { IPersistentState } from './models/panelState';
import {
  ProblemNotifier,
  RequestErrorNotifier,
  TransferNotifier
} from './notifications';
import {
  CommandIDs,
  DEFAULT_PREFERENCES,
  IDataLakeModel,
  IDataLakePreferences,
  PLUGIN_ID,
  STATE_KEY,
  TRANSLATION_DOMAIN
} from './tokens';
import { uploadPlugin } from './uploadPlugin';
import { FRONTEND_VERSION } from './version';

/** Rank in the left sidebar: after the file browser, running sessions and TOC. */
const PANEL_RANK = 700;

/** The file browser's own command to show a path (JupyterLab 4). */
const GO_TO_PATH = 'filebrowser:go-to-path';
/** The settings editor's command. */
const OPEN_SETTINGS = 'settingeditor:open';

const plugin: JupyterFrontEndPlugin<IDataLakeModel> = {
  id: PLUGIN_ID,
  description:
    'The "Data Lake" sidebar panel: search a Rucio data lake by metadata, make data available at the notebook, follow replicas and rules.',
  autoStart: true,
  provides: IDataLakeModel,
  optional: [
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry,
    ITranslator,
    IStateDB,
    IFileBrowserFactory,
    INotebookTracker
  ],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    stateDB?: IStateDB | null,
    fileBrowserFactory?: IFileBrowserFactory | null,
    notebookTracker?: INotebookTracker | null
  ): IDataLakeModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const { commands, shell } = app;

    const model = new DataLakeModel({
      frontendVersion: FRONTEND_VERSION,
      serverSettings: app.serviceManager.serverSettings
    });

    const actions = new DataLakeActions({
      model,
      trans,
      openFolder: path =>
        Private.openFolder(app, path, fileBrowserFactory ?? null),
      notebook: notebookTracker
        ? Private.notebookTarget(app, notebookTracker)
        : null,
      openSettings: () => void commands.execute(CommandIDs.openSettings)
    });

    const panel = new DataLakePanel({
      model,
      actions,
      translator: translator ?? nullTranslator
    });
    shell.add(panel, 'left', { rank: PANEL_RANK });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    const showDetails = (instance: string, did: string) => {
      shell.activateById(panel.id);
      void model.openDetails(did, instance);
    };
    const problems = new ProblemNotifier({
      model,
      trans,
      showPanel: () => void commands.execute(CommandIDs.openPanel)
    });
    const requestErrors = new RequestErrorNotifier({
      model,
      trans,
      showPanel: () => void commands.execute(CommandIDs.openPanel)
    });
    const transfers = new TransferNotifier({
      transfers: model.transfers,
      trans,
      actions,
      showDetails
    });
    panel.disposed.connect(() => {
      problems.dispose();
      requestErrors.dispose();
      transfers.dispose();
      model.dispose();
    });

    Private.addCommands(app, model, panel, actions, trans, () =>
      problems.forgetProblem()
    );

    if (palette) {
      const category = trans.__('Data Lake');
      for (const command of [
        CommandIDs.openPanel,
        CommandIDs.search,
        CommandIDs.makeAvailable,
        CommandIDs.insertPaths,
        CommandIDs.refresh,
        CommandIDs.openSettings
      ]) {
        palette.addItem({ command, category });
      }
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            model.preferences = Private.readPreferences(settings);
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error(
            'escape-dlaas: could not load the settings, using defaults.',
            reason
          );
        });
    }

    if (stateDB) {
      Private.persist(model, stateDB);
    }

    return model;
  }
};

namespace Private {
  /** Preferences from the settings, falling back to the defaults key by key. */
  export function readPreferences(
    settings: ISettingRegistry.ISettings
  ): IDataLakePreferences {
    const composite = settings.composite as Partial<IDataLakePreferences>;
    return { ...DEFAULT_PREFERENCES, ...composite };
  }

  /** Restore the watched DIDs and the panel's state, then save every change (debounced). */
  export function persist(model: DataLakeModel, stateDB: IStateDB): void {
    const save = new Debouncer(async () => {
      await stateDB.save(
        STATE_KEY,
        model.persistentState as unknown as ReadonlyPartialJSONObject
      );
    }, 500);
    stateDB
      .fetch(STATE_KEY)
      .then(saved => {
        model.restoreState(saved as unknown as Partial<IPersistentState>);
      })
      .catch(reason => {
        console.warn(
          'escape-dlaas: could not restore the panel state.',
          reason
        );
      })
      .finally(() => {
        // Only now: saving earlier would overwrite the state being restored.
        model.stateChanged.connect(() => void save.invoke());
      });
  }

  /** Show a folder (relative to the server root) in the file browser. */
  export async function openFolder(
    app: JupyterFrontEnd,
    path: string,
    factory: IFileBrowserFactory | null
  ): Promise<void> {
    if (app.commands.hasCommand(GO_TO_PATH)) {
      await app.commands.execute(GO_TO_PATH, { path: path || '/' });
      return;
    }
    if (factory?.tracker.currentWidget) {
      const browser = factory.tracker.currentWidget;
      await browser.model.cd(`/${path}`);
      app.shell.activateById(browser.id);
    }
  }

  /** The active notebook, for inserting code. */
  export function notebookTarget(
    app: JupyterFrontEnd,
    tracker: INotebookTracker
  ): INotebookTarget {
    return {
      language: () => {
        const panel = tracker.currentWidget;
        if (!panel || !panel.model) {
          return null;
        }
        const info = panel.model.getMetadata('language_info') as
          { name?: string } | undefined;
        const spec = panel.model.getMetadata('kernelspec') as
          { language?: string } | undefined;
        return info?.name ?? spec?.language ?? 'python';
      },
      insertCodeBelow: source => {
        const panel = tracker.currentWidget;
        if (!panel || !panel.model) {
          return false;
        }
        const notebook = panel.content;
        const index = notebook.activeCellIndex + 1;
        panel.model.sharedModel.insertCell(index, {
          cell_type: 'code',
          source,
          metadata: {}
        });
        notebook.activeCellIndex = index;
        app.shell.activateById(panel.id);
        return true;
      }
    };
  }

  /** The DID a command is about: its argument, else the one shown, else asked for. */
  async function didArgument(
    args: ReadonlyPartialJSONObject,
    model: DataLakeModel,
    trans: TranslationBundle,
    title: string
  ): Promise<string | null> {
    if (typeof args['did'] === 'string' && args['did']) {
      return args['did'];
    }
    const result = await InputDialog.getText({
      title,
      label: trans.__('Data identifier (scope:name)'),
      placeholder: trans.__('e.g. lofar:L2023_712342_HBA'),
      text: model.details.did ?? '',
      okLabel: trans.__('OK'),
      cancelLabel: trans.__('Cancel')
    });
    const did = result.button.accept ? (result.value ?? '').trim() : '';
    return did || null;
  }

  export function addCommands(
    app: JupyterFrontEnd,
    model: DataLakeModel,
    panel: DataLakePanel,
    actions: DataLakeActions,
    trans: TranslationBundle,
    onRefresh: () => void
  ): void {
    const { commands, shell } = app;
    const noArgs = { args: { type: 'object', properties: {} } };
    const didArgs = {
      args: {
        type: 'object',
        properties: {
          did: {
            type: 'string',
            description: trans.__('Data identifier, scope:name')
          }
        }
      }
    };
    /** An `execute` that gets the DID (see didArgument), then runs `run` with it. */
    const withDid =
      (title: string, run: (did: string) => Promise<unknown>) =>
      async (args: ReadonlyPartialJSONObject): Promise<void> => {
        const did = await didArgument(args, model, trans, title);
        if (did !== null) {
          await run(did);
        }
      };

    commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Open Data Lake Panel'),
      caption: trans.__('Show the Data Lake panel in the left sidebar'),
      icon: args => (args['isPalette'] ? undefined : dataLakeIcon),
      describedBy: noArgs,
      execute: () => {
        shell.activateById(panel.id);
      }
    });

    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Data Lake'),
      caption: trans.__(
        'Check now the Rucio instances, your sign-in and the state of your data'
      ),
      icon: args => (args['isPalette'] ? undefined : refreshIcon),
      describedBy: noArgs,
      execute: async () => {
        // Asked for explicitly: report a persisting problem again.
        onRefresh();
        await model.refreshAll();
      }
    });

    commands.addCommand(CommandIDs.search, {
      label: trans.__('Search the Data Lake'),
      caption: trans.__('Search data by name pattern and metadata'),
      icon: args => (args['isPalette'] ? undefined : searchIcon),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            pattern: { type: 'string' },
            scope: { type: 'string' },
            type: {
              type: 'string',
              enum: ['all', 'collection', 'dataset', 'container', 'file']
            },
            filter: { type: 'string' }
          }
        }
      },
      execute: async args => {
        shell.activateById(panel.id);
        const draft: Record<string, string> = {};
        for (const key of ['pattern', 'scope', 'type'] as const) {
          if (typeof args[key] === 'string') {
            draft[key] = args[key] as string;
          }
        }
        if (typeof args['filter'] === 'string') {
          draft.filterText = args['filter'] as string;
        }
        panel.focusSearch();
        if (Object.keys(draft).length > 0) {
          model.search.setDraft({
            ...draft,
            type: draft.type as DidTypeFilter | undefined
          });
          await model.search.run();
        }
      }
    });

    commands.addCommand(CommandIDs.makeAvailable, {
      label: args =>
        args['did']
          ? trans.__('Make %1 Available…', args['did'] as string)
          : trans.__('Make Data Available…'),
      caption: trans.__(
        'Bring a dataset to the notebook (or a QoS class) with a Rucio rule'
      ),
      icon: args => (args['isPalette'] ? undefined : downloadIcon),
      describedBy: didArgs,
      execute: withDid(trans.__('Make available'), did => {
        const item = model.search.items.find(
          candidate => candidate.did === did
        );
        const details =
          model.details.did === did ? model.details.details : null;
        return actions.makeAvailable({
          did,
          bytes: item?.bytes ?? details?.bytes ?? null,
          length: item?.length ?? details?.length ?? null,
          availability: item?.availability ?? details?.availability ?? null
        });
      })
    });

    commands.addCommand(CommandIDs.showDetails, {
      label: trans.__('Show Data Lake Details'),
      caption: trans.__('Show the metadata, rules and files of a DID'),
      describedBy: didArgs,
      execute: withDid(trans.__('Show details'), did => {
        shell.activateById(panel.id);
        return model.openDetails(did);
      })
    });

    commands.addCommand(CommandIDs.openInFileBrowser, {
      label: trans.__('Open Data Lake Files in File Browser'),
      describedBy: didArgs,
      execute: withDid(trans.__('Open in file browser'), did =>
        actions.openInFileBrowser(did)
      )
    });

    commands.addCommand(CommandIDs.copyPaths, {
      label: trans.__('Copy Data Lake Path'),
      describedBy: didArgs,
      execute: withDid(trans.__('Copy path'), did => actions.copyPaths(did))
    });

    commands.addCommand(CommandIDs.insertPaths, {
      label: trans.__('Insert Data Lake Paths in Notebook'),
      caption: trans.__(
        'Insert a code cell defining the local paths of a DID in the active notebook'
      ),
      describedBy: didArgs,
      isEnabled: () => actions.canInsertSnippet,
      execute: withDid(trans.__('Insert paths'), did =>
        actions.insertSnippet(did)
      )
    });

    commands.addCommand(CommandIDs.openSettings, {
      label: trans.__('Data Lake Settings'),
      caption: trans.__('Open the settings of the Data Lake extension'),
      icon: args => (args['isPalette'] ? undefined : settingsIcon),
      describedBy: noArgs,
      execute: () => {
        if (commands.hasCommand(OPEN_SETTINGS)) {
          return commands.execute(OPEN_SETTINGS, { query: 'Data Lake' });
        }
      }
    });
  }
}

export { plugin as dataLakePlugin };
export default [plugin, attachmentsPlugin, uploadPlugin, basketPlugin];
