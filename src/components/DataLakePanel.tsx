import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React from 'react';

import { dataLakeIcon } from '../icons';
import { DataLakeModel } from '../model';
import { PANEL_ID, TRANSLATION_DOMAIN } from '../tokens';
import { StatusView } from './StatusView';

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

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed}>
        {() => <StatusView model={this._model} trans={this._trans} />}
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

  private _model: DataLakeModel;
  private _trans: TranslationBundle;
}

export namespace DataLakePanel {
  export interface IOptions {
    model: DataLakeModel;
    translator?: ITranslator;
  }
}
