import type { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError } from '../api/request';
import {
  IAvailability,
  IDidPathsResponse,
  IInstanceStatus,
  IStatusResponse,
  ITarget
} from '../api/types';
import {
  ConnectionState,
  DEFAULT_PREFERENCES,
  IDataLakeModel,
  IDataLakePreferences
} from '../tokens';
import { CatalogueModel } from './catalogue';
import {
  ConnectionModel,
  defaultInstanceName,
  selectedInstanceName
} from './connection';
import { DetailsModel } from './details';
import { IdentityModel } from './identity';
import {
  IPersistentState,
  PanelTab,
  readSavedState,
  stateToSave
} from './panelState';
import { RulePreviewModel } from './preview';
import { noInstanceError, RulesModel } from './rules';
import { SearchModel } from './search';
import { ITransfer, TransfersModel } from './transfers';
import { WatchModel } from './watch';
import { EventsModel } from './events';

/**
 * The Data Lake panel's model: it composes one model per concern and keeps
 * what is the panel's own (the tab, the instance chosen, the preferences,
 * what survives a reload). Components only render it.
 *
 * - `connection`: the status `Poll` (server extension, instances);
 * - `identity`: who the user is at the selected instance;
 * - `catalogue`: the pickers' scopes, targets and metadata keys;
 * - `search`, `details`: fetched on demand;
 * - `watch`: the watched DIDs, checked by one bulk `Poll`, never one request per DID;
 * - `transfers`: the "make available" requests, followed through `watch`;
 * - `rules`: extending and cancelling rules, local paths.
 *
 * Every call to an instance tells `identity` how it went: a 401 anywhere
 * shows the user as signed out.
 */
export class DataLakeModel implements IDataLakeModel, IDisposable {
  constructor(options: DataLakeModel.IOptions) {
    this.frontendVersion = options.frontendVersion;
    this._preferences = { ...DEFAULT_PREFERENCES, ...options.preferences };
    const api = options.api ?? new DataLakeAPI(options.serverSettings);
    const instance = () => this.instanceName;

    this.identity = new IdentityModel({ api, instance });
    const onError = (instance: string, error: DataLakeRequestError) =>
      this.identity.noteFailure(instance, error);
    const onSuccess = (instance: string) => this.identity.noteSuccess(instance);
    this._api = api;
    this._onError = onError;
    this._onSuccess = onSuccess;
    this.catalogue = new CatalogueModel({
      api,
      instance,
      preferredTarget: () => this._preferences.defaultTarget,
      onError
    });
    this.search = new SearchModel({
      api,
      instance,
      pageSize: () => this._preferences.searchPageSize,
      onError,
      onSuccess
    });
    this.events = new EventsModel({ api });
    this.watch = new WatchModel({
      api,
      preferences: () => this._preferences,
      isPanelVisible: () => this._panelVisible,
      onError,
      onSuccess,
      events: this.events,
      checkChangesOnly: true
    });
    this.details = new DetailsModel({ api, onError, onSuccess });
    this.transfers = new TransfersModel({ api, watch: this.watch, onError });
    this.rules = new RulesModel({ api, onError, onSuccess });

    this.identity.changed.connect(this._onIdentityChanged, this);
    this.catalogue.changed.connect(this._emitChanged, this);
    this.search.changed.connect(this._onPersistentChange, this);
    this.watch.changed.connect(this._onPersistentChange, this);
    this.details.changed.connect(this._emitChanged, this);
    this.transfers.transferChanged.connect(this._emitChanged, this);
    // The details of a DID whose availability or rule changed are out of date.
    this.watch.availabilityChanged.connect((_, changes) =>
      this.details.refreshIfShown(changes)
    );
    this.watch.rulesChanged.connect((_, changes) =>
      this.details.refreshIfShown(
        changes.map(({ instance, rule }) => ({ instance, did: rule.did }))
      )
    );

    this.connection = new ConnectionModel({
      api,
      frontendVersion: this.frontendVersion,
      pollInterval: () => this._preferences.pollInterval,
      isPanelVisible: () => this._panelVisible,
      afterCheck: previous => this._afterStatus(previous)
    });
    this.connection.changed.connect(this._emitChanged, this);
  }

  readonly frontendVersion: string;

  /** The server extension's status, polled. */
  readonly connection: ConnectionModel;
  /** Who the user is at the selected instance. */
  readonly identity: IdentityModel;
  /** Scopes, targets and metadata keys of the selected instance. */
  readonly catalogue: CatalogueModel;
  /** The search form and its results. */
  readonly search: SearchModel;
  /** The DIDs the user asked for, checked in one bulk poll. */
  readonly watch: WatchModel;
  /** Rucio's live events, for the instances the watch model follows. */
  readonly events: EventsModel;
  /** The DID whose details are shown. */
  readonly details: DetailsModel;
  /** The "make available" requests of this session. */
  readonly transfers: TransfersModel;
  /** Extend and cancel rules; local paths. */
  readonly rules: RulesModel;

  /** Emitted whenever the panel's state or any of its models changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when what IPersistentState holds may have changed (to save it). */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  get status(): IStatusResponse | null {
    return this.connection.status;
  }

  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  get problem(): string | null {
    return this.connection.problem;
  }

  get lastChecked(): Date | null {
    return this.connection.lastChecked;
  }

  get versionMismatch(): boolean {
    return this.connection.versionMismatch;
  }

  get defaultInstanceName(): string | null {
    return defaultInstanceName(this.status, this._preferences.defaultInstance);
  }

  get preferences(): IDataLakePreferences {
    return { ...this._preferences };
  }

  set preferences(preferences: IDataLakePreferences) {
    const previousInstance = this.instanceName;
    this._preferences = { ...DEFAULT_PREFERENCES, ...preferences };
    this.connection.update();
    this.watch.update();
    this._changed.emit();
    this._afterInstanceChange(previousInstance);
  }

  /**
   * The instance the panel works with: the one the user picked, else the
   * default. Null until the status lists one.
   */
  get instanceName(): string | null {
    return selectedInstanceName(
      this.status,
      this._chosenInstance,
      this._preferences.defaultInstance
    );
  }

  /** The selected instance's status entry. */
  get instance(): IInstanceStatus | null {
    const name = this.instanceName;
    return (
      this.connection.instances.find(instance => instance.name === name) ?? null
    );
  }

  /** Pick the instance to work with. */
  selectInstance(name: string): void {
    const previous = this.instanceName;
    this._chosenInstance = name;
    this._afterInstanceChange(previous);
    this._stateChanged.emit();
  }

  get tab(): PanelTab {
    return this._tab;
  }

  set tab(tab: PanelTab) {
    if (tab !== this._tab) {
      this._tab = tab;
      this._changed.emit();
      this._stateChanged.emit();
    }
  }

  /** Whether the details view is shown (over the tabs). */
  get detailsOpen(): boolean {
    return this.details.did !== null;
  }

  /** Show a DID's details (of the selected instance unless given). */
  async openDetails(did: string, instance?: string): Promise<void> {
    const name = instance ?? this.instanceName;
    if (name === null) {
      return;
    }
    const opened = this.details.open(name, did);
    this._changed.emit();
    this._stateChanged.emit();
    await opened;
  }

  closeDetails(): void {
    this.details.close();
    this._changed.emit();
    this._stateChanged.emit();
  }

  /**
   * What is known of a DID's availability at the notebook: the watch poll's
   * if it is watched, else `fallback` (e.g. from a search result).
   */
  availabilityOf(
    did: string,
    fallback: IAvailability | null = null,
    instance: string | null = this.instanceName
  ): IAvailability | null {
    if (instance === null) {
      return fallback;
    }
    return this.watch.get(instance, did)?.availability ?? fallback;
  }

  /** Ask for a DID to be made available; follow it (see TransfersModel). */
  makeAvailable(options: {
    did: string;
    target: ITarget;
    lifetimeDays: number;
    instance?: string;
  }): Promise<ITransfer> {
    const instance = options.instance ?? this.instanceName;
    if (instance === null) {
      return Promise.reject(noInstanceError());
    }
    return this.transfers.start({ ...options, instance });
  }

  /**
   * What making a DID available would do, for the make-available dialog:
   * a model of its own, to dispose with the dialog.
   */
  previewMakeAvailable(
    did: string,
    instance: string | null = this.instanceName
  ): RulePreviewModel {
    return new RulePreviewModel({
      api: this._api,
      instance,
      did,
      onError: this._onError,
      onSuccess: this._onSuccess
    });
  }

  /**
   * Give a rule a new lifetime, counted from now; the details follow, also
   * after a refusal (the server then knows the lake does not allow it, and
   * the rule no longer offers "Extend").
   */
  async extendRule(
    ruleId: string,
    lifetimeDays: number,
    instance: string | null = this.details.instance ?? this.instanceName
  ): Promise<void> {
    try {
      await this.rules.extend(instance, ruleId, lifetimeDays);
    } finally {
      await this.details.refresh();
    }
  }

  /** Cancel a rule; the details and the watched availability follow (the details also after a refusal). */
  async cancelRule(
    ruleId: string,
    instance: string | null = this.details.instance ?? this.instanceName
  ): Promise<void> {
    try {
      await this.rules.cancel(instance, ruleId);
    } catch (error) {
      await this.details.refresh();
      throw error;
    }
    await Promise.all([this.details.refresh(), this.watch.refresh()]);
  }

  /** Local paths of a DID's files at the notebook. */
  paths(
    did: string,
    instance: string | null = this.instanceName
  ): Promise<IDidPathsResponse> {
    return this.rules.paths(instance, did);
  }

  /** What to keep across reloads. */
  get persistentState(): IPersistentState {
    return stateToSave(this._chosenInstance, this._tab, this);
  }

  /** Take back what a previous session kept; unknown parts are ignored. */
  restoreState(state: Partial<IPersistentState> | null | undefined): void {
    if (!state || typeof state !== 'object') {
      return;
    }
    const { instance, tab, watched, search, details } = readSavedState(state);
    if (instance !== undefined) {
      this._chosenInstance = instance;
    }
    if (tab !== undefined) {
      this._tab = tab;
    }
    this.watch.restore(watched);
    if (search !== undefined) {
      this.search.setDraft(search);
    }
    if (details) {
      void this.details.open(details.instance, details.did);
    }
    this._changed.emit();
  }

  /** Whether the Data Lake panel is shown; the status is polled only then. */
  get panelVisible(): boolean {
    return this._panelVisible;
  }

  set panelVisible(visible: boolean) {
    if (visible === this._panelVisible) {
      return;
    }
    this._panelVisible = visible;
    this.watch.update();
    if (visible) {
      // Coming back from standby: show fresh data instead of waiting a period.
      void this.refresh();
      if (this.watch.entries.length > 0) {
        void this.watch.refresh();
      }
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Check the status now, even while the panel is hidden. */
  refresh(): Promise<void> {
    return this.connection.refresh();
  }

  /** Check everything shown now: status, identity, watched data, open details. */
  async refreshAll(): Promise<void> {
    await Promise.all([
      this.refresh(),
      this.watch.entries.length > 0 ? this.watch.refresh() : Promise.resolve(),
      this.details.did !== null ? this.details.refresh() : Promise.resolve()
    ]);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.connection.dispose();
    this.transfers.dispose();
    this.watch.dispose();
    this.events.dispose();
    this.search.dispose();
    this.details.dispose();
    this.catalogue.dispose();
    this.identity.dispose();
    Signal.clearData(this);
  }

  /** After each successful status check. */
  private async _afterStatus(previous: IStatusResponse | null): Promise<void> {
    const previousInstance = selectedInstanceName(
      previous,
      this._chosenInstance,
      this._preferences.defaultInstance
    );
    if (this.instanceName !== previousInstance) {
      this._afterInstanceChange(previousInstance);
    } else if (this._panelVisible && this.instanceName !== null) {
      // Who the user is, and how long the token lasts, while someone looks.
      await this.identity.refresh();
    }
  }

  /** The selected instance may have changed: start afresh with it. */
  private _afterInstanceChange(previous: string | null): void {
    const current = this.instanceName;
    if (current === previous || this._isDisposed) {
      return;
    }
    this.identity.reset();
    this.catalogue.clear();
    this.search.clearResults();
    if (this.details.instance !== null && this.details.instance !== current) {
      this.details.close();
    }
    this._changed.emit();
    // Who the user is matters only to someone looking at the panel.
    if (current !== null && this.status !== null && this._panelVisible) {
      void this.identity.refresh();
    }
  }

  private _onIdentityChanged(): void {
    this._changed.emit();
    if (this.identity.state === 'signed-in') {
      void this.catalogue.load();
    }
  }

  private _emitChanged(): void {
    this._changed.emit();
  }

  private _onPersistentChange(): void {
    this._changed.emit();
    this._stateChanged.emit();
  }

  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _chosenInstance: string | null = null;
  private _isDisposed = false;
  private _onError: (instance: string, error: DataLakeRequestError) => void;
  private _onSuccess: (instance: string) => void;
  private _panelVisible = false;
  private _preferences: IDataLakePreferences;
  private _stateChanged = new Signal<this, void>(this);
  private _tab: PanelTab = 'search';
}

export namespace DataLakeModel {
  export interface IOptions {
    /** Version of this frontend, compared with the server extension's. */
    frontendVersion: string;
    /** Jupyter server connection; defaults to the page's. */
    serverSettings?: ServerConnection.ISettings;
    /** Initial preferences; missing keys take DEFAULT_PREFERENCES. */
    preferences?: Partial<IDataLakePreferences>;
    /** The REST API; defaults to one on `serverSettings`. */
    api?: DataLakeAPI;
  }
}
