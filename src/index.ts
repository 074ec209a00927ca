import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';

import { DataLakePanel } from './components/DataLakePanel';
import { dataLakeIcon } from './icons';
import { DataLakeModel, DEFAULT_PREFERENCES } from './model';
import { ProblemNotifier } from './notifications';
import {
  CommandIDs,
  IDataLakeModel,
  IDataLakePreferences,
  PLUGIN_ID,
  TRANSLATION_DOMAIN
} from './tokens';
import { FRONTEND_VERSION } from './version';

/** Rank in the left sidebar: after the file browser, running sessions and TOC. */
const PANEL_RANK = 700;

const plugin: JupyterFrontEndPlugin<IDataLakeModel> = {
  id: PLUGIN_ID,
  description:
    'Shows the Rucio data lakes configured for this JupyterLab in the "Data Lake" sidebar panel.',
  autoStart: true,
  provides: IDataLakeModel,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ): IDataLakeModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);

    const model = new DataLakeModel({
      frontendVersion: FRONTEND_VERSION,
      serverSettings: app.serviceManager.serverSettings
    });
    const panel = new DataLakePanel({
      model,
      translator: translator ?? nullTranslator
    });
    app.shell.add(panel, 'left', { rank: PANEL_RANK });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    const notifier = new ProblemNotifier({
      model,
      trans,
      showPanel: () => void app.commands.execute(CommandIDs.openPanel)
    });
    panel.disposed.connect(() => {
      notifier.dispose();
      model.dispose();
    });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Open Data Lake Panel'),
      caption: trans.__('Show the Data Lake panel in the left sidebar'),
      icon: args => (args['isPalette'] ? undefined : dataLakeIcon),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });

    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Data Lake Status'),
      caption: trans.__('Check now whether the Rucio instances answer'),
      icon: args => (args['isPalette'] ? undefined : refreshIcon),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: async () => {
        // Asked for explicitly: report a persisting problem again.
        notifier.forgetProblem();
        await model.refresh();
      }
    });

    if (palette) {
      const category = trans.__('Data Lake');
      palette.addItem({ command: CommandIDs.openPanel, category });
      palette.addItem({ command: CommandIDs.refresh, category });
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
}

export default plugin;
