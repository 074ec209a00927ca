import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React from 'react';

import { dataLakeIcon } from '../icons';
import { DataLakeModel } from '../models/datalake';
import { IDataLakeActions, PANEL_ID, TRANSLATION_DOMAIN } from '../tokens';
import { PanelErrorBoundary, PanelView } from './PanelView';

/**
 * The left sidebar panel "Data Lake".
 *
 * It renders the model and tells it whether it is visible, so the status is
 * polled only while someone can see it.
 */
export class DataLakePanel extends ReactWidget {
  constructor(options: DataLakePanel.IOptions) {
    super();
    this._model = options.model;
    this._actions = options.actions;
    this._trans = (options.translator ?? nullTranslator).load(
      TRANSLATION_DOMAIN
    );
    this.id = PANEL_ID;
    this.addClass('jp-DLaaS-panel');
    this.title.icon = dataLakeIcon;
    this.title.caption = this._trans.__('Data Lake');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('Data Lake'));
  }

  get model(): DataLakeModel {
    return this._model;
  }

  /** Focus the name box of the search form (opening the Search tab). */
  focusSearch(): void {
    this._model.closeDetails();
    this._model.tab = 'search';
    // The form renders on the next animation frame.
    requestAnimationFrame(() => {
      this.node
        .querySelector<HTMLInputElement>(
          '.jp-DLaaS-searchForm input[type="search"]'
        )
        ?.focus();
    });
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed}>
        {() => (
          <PanelErrorBoundary trans={this._trans}>
            <PanelView
              model={this._model}
              actions={this._actions}
              trans={this._trans}
            />
          </PanelErrorBoundary>
        )}
      </UseSignal>
    );
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._model.panelVisible = this.isVisible;
  }

  protected onBeforeDetach(msg: Message): void {
    this._model.panelVisible = false;
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.panelVisible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.panelVisible = false;
  }

  private _actions: IDataLakeActions;
  private _model: DataLakeModel;
  private _trans: TranslationBundle;
}

export namespace DataLakePanel {
  export interface IOptions {
    model: DataLakeModel;
    actions: IDataLakeActions;
    translator?: ITranslator;
  }
}
