import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { DataLakeAPI } from '../api/client';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { DataLakeModel } from '../models/datalake';
import { PanelTab } from '../models/panelState';
import { CommandIDs, IDataLakeModel, TRANSLATION_DOMAIN } from '../tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { BASKETS, IBasketActions } from './BasketView';
// eslint-disable-next-line jupyter/prefer-lazy-imports -- activation needs it at once (the panel's tab reads the model)
import { BasketModel } from './model';

export namespace BasketCommandIDs {
  export const show = 'escape-dlaas:show-basket';
  export const makeAllAvailable = 'escape-dlaas:make-basket-available';
}

/** The panel's tab that shows the basket (models/panelState.ts). */
const BASKET_TAB: PanelTab = 'basket';

/** "Make all available" for the basket: the shared make-all dialog (target, lifetime, total, refusals). */
export class BasketActions implements IBasketActions {
  constructor(
    private _lake: DataLakeModel,
    private _model: BasketModel,
    private _trans: TranslationBundle
  ) {}

  async makeAllAvailable(): Promise<void> {
    const trans = this._trans;
    const { showMakeAllDialog } = await import('../attachments/MakeAllDialog');
    await showMakeAllDialog({
      lake: this._lake,
      entries: this._model.totals.pending,
      trans,
      nothingPending: trans.__(
        'All the Rucio data of your basket is at the notebook.'
      ),
      title: trans.__('Make the basket available'),
      headline: count =>
        trans._n(
          '%1 data set of your basket is not at the notebook yet.',
          '%1 data sets of your basket are not at the notebook yet.',
          count
        ),
      makeAvailable: (target, lifetimeDays, entries) =>
        this._model.makeAllAvailable(target, lifetimeDays, entries)
    });
  }
}

export const basketPlugin: JupyterFrontEndPlugin<void> = {
  id: 'escape-dlaas:basket',
  description:
    'The ESAP basket in the Data Lake panel: the Rucio data picked in ESAP with its availability, "make all available".',
  autoStart: true,
  requires: [IDataLakeModel],
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    dataLake: IDataLakeModel,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): void => {
    if (!(dataLake instanceof DataLakeModel)) {
      console.warn('escape-dlaas: no Data Lake panel model, no basket.');
      return;
    }
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const model = new BasketModel({
      api: new DataLakeAPI(app.serviceManager.serverSettings),
      lake: dataLake
    });
    const actions = new BasketActions(dataLake, model, trans);
    BASKETS.set(dataLake, { model, actions });

    const noArgs = { args: { type: 'object', properties: {} } };
    app.commands.addCommand(BasketCommandIDs.show, {
      label: trans.__('Show the ESAP Basket'),
      caption: trans.__('Show the data picked in ESAP in the Data Lake panel'),
      describedBy: noArgs,
      execute: async () => {
        await app.commands.execute(CommandIDs.openPanel);
        dataLake.closeDetails();
        dataLake.tab = BASKET_TAB;
        await model.load();
      }
    });
    app.commands.addCommand(BasketCommandIDs.makeAllAvailable, {
      label: trans.__('Make the ESAP Basket Available…'),
      describedBy: noArgs,
      execute: () => actions.makeAllAvailable()
    });
    if (palette) {
      const category = trans.__('Data Lake');
      palette.addItem({ command: BasketCommandIDs.show, category });
      palette.addItem({ command: BasketCommandIDs.makeAllAvailable, category });
    }
  }
};
