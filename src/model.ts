import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from './api';
import { DetailsModel } from './details';
import {
  DataLakeRequestError,
  isUnauthorized,
  SERVER_EXTENSION_MISSING,
  toRequestError
} from './request';
import { ISearchDraft, SearchModel } from './search';
import {
  ConnectionState,
  IAvailability,
  IDataLakeModel,
  IDataLakePreferences,
  IDidPathsResponse,
  IInstanceStatus,
  IRse,
  IStatusResponse,
  ITarget,
  IWhoAmI
} from './tokens';
import { ITransfer, TransfersModel } from './transfers';
import { IWatchedState, WatchModel } from './watch';

/** Preferences used until the settings are loaded; same defaults as schema/plugin.json. */
export const DEFAULT_PREFERENCES: Readonly<IDataLakePreferences> = {
  pollInterval: 30,
  transferPollInterval: 5,
  searchPageSize: 100,
  defaultInstance: '',
  defaultLifetimeDays: 7,
  defaultTarget: ''
};

/** The panel's tabs. */
export type PanelTab = 'search' | 'watched' | 'instances';

/**
 * Where the user stands with the selected instance:
 * - `unknown`: not asked yet;
 * - `loading`: asking;
 * - `signed-in`: the server has working credentials (see `whoami`);
 * - `signed-out`: credentials are missing or expired (HTTP 401): `error` says what to do;
 * - `error`: could not find out (Rucio down, ...).
 */
export type IdentityState =
  'unknown' | 'loading' | 'signed-in' | 'signed-out' | 'error';

export interface IIdentity {
  state: IdentityState;
  whoami: IWhoAmI | null;
  error: DataLakeRequestError | null;
  /** When `whoami` arrived (ms since the epoch): its `expires_in` counts from then. */
  receivedAt: number | null;
}

/** Pickers of the selected instance: scopes, targets, metadata keys. */
export interface ICatalogue {
  instance: string | null;
  scopes: string[] | null;
  targets: ITarget[] | null;
  rses: IRse[] | null;
  metadataKeys: string[] | null;
  /** First error met while loading them, if any. */
  error: DataLakeRequestError | null;
}

/** What the panel keeps across page reloads (IStateDB). */
export interface IPersistentState {
  instance: string | null;
  tab: PanelTab;
  watched: IWatchedState;
  search: Partial<ISearchDraft>;
  details: { instance: string; did: string } | null;
}

/** Longest wait between two status checks while they keep failing. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

/**
 * State of the data lake as the frontend knows it; components only render it.
 *
 * Two polls, never one request per DID:
 * - the status `Poll` fetches `GET status` at start-up (so a missing server
 *   extension or a version mismatch is noticed at once), then periodically
 *   while the panel is visible, with the user's identity at the selected
 *   instance, backing off while checks fail;
 * - the watch model's `Poll` checks every watched DID in one bulk request.
 *
 * Search, details and transfers are fetched on demand by their sub-models.
 */
export class DataLakeModel implements IDataLakeModel, IDisposable {
  constructor(options: DataLakeModel.IOptions) {
    this.frontendVersion = options.frontendVersion;
    this._serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._preferences = { ...DEFAULT_PREFERENCES, ...options.preferences };
    this.api = options.api ?? new DataLakeAPI(this._serverSettings);

    const onError = (instance: string, error: DataLakeRequestError) =>
      this._onInstanceError(instance, error);
    const onSuccess = (instance: string) => this._onInstanceSuccess(instance);
    this.search = new SearchModel({
      api: this.api,
      instance: () => this.instanceName,
      pageSize: () => this._preferences.searchPageSize,
      onError,
      onSuccess
    });
    this.watch = new WatchModel({
      api: this.api,
      preferences: () => this._preferences,
      isPanelVisible: () => this._panelVisible,
      onError,
      onSuccess
    });
    this.details = new DetailsModel({ api: this.api, onError, onSuccess });
    this.transfers = new TransfersModel({
      api: this.api,
      watch: this.watch,
      onError
    });

    this.search.changed.connect(this._onPersistentChange, this);
    this.watch.changed.connect(this._onPersistentChange, this);
    this.details.changed.connect(this._emitChanged, this);
    this.transfers.transferChanged.connect(this._emitChanged, this);
    this.watch.availabilityChanged.connect((_, changes) => {
      // The details of a DID whose availability changed are out of date.
      if (
        changes.some(
          change =>
            change.instance === this.details.instance &&
            change.did === this.details.did
        )
      ) {
        void this.details.refresh();
      }
    });
    this.watch.rulesChanged.connect((_, changes) => {
      if (
        changes.some(
          change =>
            change.instance === this.details.instance &&
            change.rule.did === this.details.did
        )
      ) {
        void this.details.refresh();
      }
    });

    this._poll = new Poll<IStatusResponse, DataLakeRequestError>({
      factory: () => this._checkStatus(),
      frequency: Private.frequency(this._preferences.pollInterval),
      name: 'escape-dlaas:status',
      // A hidden panel needs no fresh status, except when someone asked for it.
      standby: () =>
        this._checkRequested
          ? 'never'
          : this._panelVisible
            ? 'when-hidden'
            : true
    });
  }

  readonly frontendVersion: string;

  /** The REST API, one method per endpoint. */
  readonly api: DataLakeAPI;
  /** The search form and its results. */
  readonly search: SearchModel;
  /** The DIDs the user asked for, checked in one bulk poll. */
  readonly watch: WatchModel;
  /** The DID whose details are shown. */
  readonly details: DetailsModel;
  /** The "make available" requests of this session. */
  readonly transfers: TransfersModel;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when what IPersistentState holds may have changed (to save it). */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  get status(): IStatusResponse | null {
    return this._status;
  }

  get connectionState(): ConnectionState {
    return this._connectionState;
  }

  get problem(): string | null {
    return this._problem;
  }

  /** The error of the last failed check, with its HTTP status and reason. */
  get lastError(): DataLakeRequestError | null {
    return this._lastError;
  }

  get lastChecked(): Date | null {
    return this._lastChecked;
  }

  get versionMismatch(): boolean {
    return (
      this._status !== null &&
      !sameRelease(this.frontendVersion, this._status.version)
    );
  }

  get defaultInstanceName(): string | null {
    const instances = this._status?.instances ?? [];
    const preferred = this._preferences.defaultInstance;
    if (preferred && instances.some(instance => instance.name === preferred)) {
      return preferred;
    }
    const serverDefault = this._status?.default_instance ?? null;
    if (
      serverDefault &&
      instances.some(instance => instance.name === serverDefault)
    ) {
      return serverDefault;
    }
    return instances.length > 0 ? instances[0].name : null;
  }

  get preferences(): IDataLakePreferences {
    return { ...this._preferences };
  }

  set preferences(preferences: IDataLakePreferences) {
    const previousInstance = this.instanceName;
    this._preferences = { ...DEFAULT_PREFERENCES, ...preferences };
    this._poll.frequency = Private.frequency(this._preferences.pollInterval);
    this.watch.update();
    this._changed.emit();
    this._afterInstanceChange(previousInstance);
  }

  /** The configured instances, as the last status check listed them. */
  get instances(): IInstanceStatus[] {
    return this._status?.instances ?? [];
  }

  /**
   * The instance the panel works with: the one the user picked, else the
   * default. Null until the status lists one.
   */
  get instanceName(): string | null {
    const chosen = this._chosenInstance;
    if (chosen && this.instances.some(instance => instance.name === chosen)) {
      return chosen;
    }
    return this.defaultInstanceName;
  }

  /** The selected instance's status entry. */
  get instance(): IInstanceStatus | null {
    const name = this.instanceName;
    return this.instances.find(instance => instance.name === name) ?? null;
  }

  /** Pick the instance to work with. */
  selectInstance(name: string): void {
    const previous = this.instanceName;
    this._chosenInstance = name;
    this._afterInstanceChange(previous);
    this._stateChanged.emit();
  }

  /** Who the user is at the selected instance. */
  get identity(): IIdentity {
    return this._identity;
  }

  /** Scopes, targets and metadata keys of the selected instance. */
  get catalogue(): ICatalogue {
    return this._catalogue;
  }

  /** The make-available target proposed first: the preference if offered, else notebook-local. */
  get defaultTarget(): ITarget | null {
    const targets = this._catalogue.targets ?? [];
    const preferred = this._preferences.defaultTarget;
    return (
      targets.find(target => target.id === preferred) ??
      targets.find(target => target.rse_expression === preferred) ??
      targets.find(target => target.id === 'notebook') ??
      targets[0] ??
      null
    );
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
      return Promise.reject(
        new DataLakeRequestError(
          'No Rucio instance is available yet.',
          0,
          'no_instance'
        )
      );
    }
    return this.transfers.start({ ...options, instance });
  }

  /** Give a rule a new lifetime, counted from now; the details follow. */
  async extendRule(
    ruleId: string,
    lifetimeDays: number,
    instance: string | null = this.details.instance ?? this.instanceName
  ): Promise<void> {
    await this._instanceCall(instance, name =>
      this.api.extendRule(name, ruleId, lifetimeDays)
    );
    await this.details.refresh();
  }

  /** Cancel a rule; the details and the watched availability follow. */
  async cancelRule(
    ruleId: string,
    instance: string | null = this.details.instance ?? this.instanceName
  ): Promise<void> {
    await this._instanceCall(instance, name =>
      this.api.cancelRule(name, ruleId)
    );
    await Promise.all([this.details.refresh(), this.watch.refresh()]);
  }

  /** Local paths of a DID's files at the notebook. */
  paths(
    did: string,
    instance: string | null = this.instanceName
  ): Promise<IDidPathsResponse> {
    return this._instanceCall(instance, name => this.api.didPaths(name, did));
  }

  /** Ask again who the user is at the selected instance. */
  async refreshIdentity(): Promise<void> {
    const instance = this.instanceName;
    if (instance === null || this._isDisposed) {
      return;
    }
    const generation = ++this._identityGeneration;
    if (this._identity.state === 'unknown') {
      this._identity = { ...this._identity, state: 'loading' };
      this._changed.emit();
    }
    try {
      const whoami = await this.api.whoami(instance);
      if (generation !== this._identityGeneration || this._isDisposed) {
        return;
      }
      this._identity = {
        state: 'signed-in',
        whoami,
        error: null,
        receivedAt: Date.now()
      };
    } catch (reason) {
      if (generation !== this._identityGeneration || this._isDisposed) {
        return;
      }
      const error = toRequestError(reason);
      this._identity = {
        state: isUnauthorized(error) ? 'signed-out' : 'error',
        whoami: null,
        error,
        receivedAt: null
      };
    }
    this._changed.emit();
    if (this._identity.state === 'signed-in') {
      void this.loadCatalogue();
    }
  }

  /** Load the pickers of the selected instance (once; again with `force`). */
  loadCatalogue(force = false): Promise<void> {
    const instance = this.instanceName;
    if (instance === null || this._isDisposed) {
      return Promise.resolve();
    }
    const catalogue = this._catalogue;
    const complete =
      catalogue.instance === instance &&
      catalogue.scopes !== null &&
      catalogue.targets !== null &&
      catalogue.metadataKeys !== null;
    if (complete && !force) {
      return Promise.resolve();
    }
    // One load at a time per instance: callers wait for the one under way.
    if (this._catalogueLoad?.instance === instance) {
      return this._catalogueLoad.promise;
    }
    const promise = this._fetchCatalogue(instance).finally(() => {
      if (this._catalogueLoad?.promise === promise) {
        this._catalogueLoad = null;
      }
    });
    this._catalogueLoad = { instance, promise };
    return promise;
  }

  private async _fetchCatalogue(instance: string): Promise<void> {
    const [scopes, rses, keys] = await Promise.allSettled([
      this.api.scopes(instance),
      this.api.rses(instance),
      this.api.metadataKeys(instance)
    ]);
    if (this._isDisposed || instance !== this.instanceName) {
      return;
    }
    const errors = [scopes, rses, keys]
      .filter(
        (result): result is PromiseRejectedResult =>
          result.status === 'rejected'
      )
      .map(result => toRequestError(result.reason));
    this._catalogue = {
      instance,
      scopes: scopes.status === 'fulfilled' ? scopes.value : null,
      targets: rses.status === 'fulfilled' ? rses.value.targets : null,
      rses: rses.status === 'fulfilled' ? rses.value.rses : null,
      metadataKeys: keys.status === 'fulfilled' ? keys.value : null,
      error: errors[0] ?? null
    };
    if (errors[0]) {
      this._onInstanceError(instance, errors[0]);
    }
    this._changed.emit();
  }

  /** What to keep across reloads. */
  get persistentState(): IPersistentState {
    const { pattern, scope, type, filterText, builderOpen } = this.search.draft;
    const details =
      this.details.instance !== null && this.details.did !== null
        ? { instance: this.details.instance, did: this.details.did }
        : null;
    return {
      instance: this._chosenInstance,
      tab: this._tab,
      watched: this.watch.toJSON(),
      search: { pattern, scope, type, filterText, builderOpen },
      details
    };
  }

  /** Take back what a previous session kept; unknown parts are ignored. */
  restoreState(state: Partial<IPersistentState> | null | undefined): void {
    if (!state || typeof state !== 'object') {
      return;
    }
    if (typeof state.instance === 'string') {
      this._chosenInstance = state.instance;
    }
    if (
      state.tab === 'search' ||
      state.tab === 'watched' ||
      state.tab === 'instances'
    ) {
      this._tab = state.tab;
    }
    this.watch.restore(state.watched);
    if (state.search && typeof state.search === 'object') {
      this.search.setDraft(Private.validDraft(state.search));
    }
    if (
      state.details &&
      typeof state.details.instance === 'string' &&
      typeof state.details.did === 'string'
    ) {
      void this.details.open(state.details.instance, state.details.did);
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

  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    this._checkRequested = true;
    await this._poll.refresh();
    // The next tick is the end of the check just scheduled (or of standby).
    await this._poll.tick.catch(() => undefined);
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
    this._poll.dispose();
    this.transfers.dispose();
    this.watch.dispose();
    this.search.dispose();
    this.details.dispose();
    Signal.clearData(this);
  }

  /** Call the API for an instance; a 401 updates the identity. */
  private async _instanceCall<T>(
    instance: string | null,
    call: (instance: string) => Promise<T>
  ): Promise<T> {
    if (instance === null) {
      throw new DataLakeRequestError(
        'No Rucio instance is available yet.',
        0,
        'no_instance'
      );
    }
    try {
      const result = await call(instance);
      this._onInstanceSuccess(instance);
      return result;
    } catch (reason) {
      const error = toRequestError(reason);
      this._onInstanceError(instance, error);
      throw error;
    }
  }

  /** A call to an instance failed: missing or expired credentials change the identity. */
  private _onInstanceError(
    instance: string,
    error: DataLakeRequestError
  ): void {
    if (
      isUnauthorized(error) &&
      instance === this.instanceName &&
      !this._isDisposed
    ) {
      this._identityGeneration++;
      this._identity = {
        state: 'signed-out',
        whoami: null,
        error,
        receivedAt: null
      };
      this._changed.emit();
    }
  }

  /** A call to an instance worked: after a sign-in problem, ask who the user is again. */
  private _onInstanceSuccess(instance: string): void {
    if (
      instance === this.instanceName &&
      this._identity.state === 'signed-out' &&
      !this._isDisposed
    ) {
      void this.refreshIdentity();
    }
  }

  /** The selected instance may have changed: start afresh with it. */
  private _afterInstanceChange(previous: string | null): void {
    const current = this.instanceName;
    if (current === previous || this._isDisposed) {
      return;
    }
    this._identityGeneration++;
    this._identity = {
      state: 'unknown',
      whoami: null,
      error: null,
      receivedAt: null
    };
    this._catalogue = Private.emptyCatalogue();
    this.search.clearResults();
    if (this.details.instance !== null && this.details.instance !== current) {
      this.details.close();
    }
    this._changed.emit();
    // Who the user is matters only to someone looking at the panel.
    if (current !== null && this._status !== null && this._panelVisible) {
      void this.refreshIdentity();
    }
  }

  private _emitChanged(): void {
    this._changed.emit();
  }

  private _onPersistentChange(): void {
    this._changed.emit();
    this._stateChanged.emit();
  }

  private async _checkStatus(): Promise<IStatusResponse> {
    this._checkRequested = false;
    try {
      const status = await this.api.status();
      if (!this._isDisposed) {
        const previousInstance = this.instanceName;
        this._status = status;
        this._connectionState = 'ready';
        this._problem = null;
        this._lastError = null;
        this._lastChecked = new Date();
        this._changed.emit();
        if (this.instanceName !== previousInstance) {
          this._afterInstanceChange(previousInstance);
        } else if (this._panelVisible && this.instanceName !== null) {
          // Who the user is, and how long the token lasts, while someone looks.
          await this.refreshIdentity();
        }
      }
      return status;
    } catch (reason) {
      const error =
        reason instanceof DataLakeRequestError
          ? reason
          : new DataLakeRequestError(String(reason), 0, 'unexpected');
      if (!this._isDisposed) {
        this._connectionState =
          error.reason === SERVER_EXTENSION_MISSING
            ? 'server-missing'
            : 'error';
        this._problem = error.message;
        this._lastError = error;
        this._changed.emit();
      }
      // Rejecting makes the poll back off.
      throw error;
    }
  }

  private _catalogue: ICatalogue = Private.emptyCatalogue();
  private _catalogueLoad: { instance: string; promise: Promise<void> } | null =
    null;
  private _changed = new Signal<this, void>(this);
  private _checkRequested = true;
  private _chosenInstance: string | null = null;
  private _identity: IIdentity = {
    state: 'unknown',
    whoami: null,
    error: null,
    receivedAt: null
  };
  private _identityGeneration = 0;
  private _stateChanged = new Signal<this, void>(this);
  private _tab: PanelTab = 'search';
  private _connectionState: ConnectionState = 'loading';
  private _isDisposed = false;
  private _lastChecked: Date | null = null;
  private _lastError: DataLakeRequestError | null = null;
  private _panelVisible = false;
  private _poll: Poll<IStatusResponse, DataLakeRequestError>;
  private _preferences: IDataLakePreferences;
  private _problem: string | null = null;
  private _serverSettings: ServerConnection.ISettings;
  private _status: IStatusResponse | null = null;
}

/**
 * Whether an npm version (this frontend's) and a Python version (the server
 * extension's) name the same release.
 *
 * The Python version is derived from package.json by hatch-nodejs-version and
 * may then be normalised (PEP 440): 1.0.0-alpha.1 can come back as 1.0.0alpha1
 * or 1.0.0a1. Both sides are brought to one canonical form before comparing.
 */
export function sameRelease(
  npmVersion: string,
  pythonVersion: string
): boolean {
  const canonical = (version: string): string | null => {
    const match =
      /^v?(\d+\.\d+\.\d+)(?:[-.]?(a|alpha|b|beta|c|rc|pre|preview)[-.]?(\d*))?(?:[-.]?dev[-.]?(\d*))?$/.exec(
        version.trim().toLowerCase()
      );
    if (match === null) {
      return null;
    }
    const [, release, phase, serial, dev] = match;
    const pre = phase
      ? `${phase.startsWith('a') ? 'a' : phase.startsWith('b') ? 'b' : 'rc'}${serial || '0'}`
      : '';
    return `${release}${pre}${dev !== undefined ? `.dev${dev || '0'}` : ''}`;
  };
  const frontend = canonical(npmVersion);
  return frontend === null
    ? npmVersion === pythonVersion
    : frontend === canonical(pythonVersion);
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

namespace Private {
  export function emptyCatalogue(): ICatalogue {
    return {
      instance: null,
      scopes: null,
      targets: null,
      rses: null,
      metadataKeys: null,
      error: null
    };
  }

  /** The parts of a saved search form that have the right types. */
  export function validDraft(
    saved: Partial<ISearchDraft>
  ): Partial<ISearchDraft> {
    const draft: Partial<ISearchDraft> = {};
    if (typeof saved.pattern === 'string') {
      draft.pattern = saved.pattern;
    }
    if (typeof saved.scope === 'string') {
      draft.scope = saved.scope;
    }
    if (
      typeof saved.type === 'string' &&
      ['all', 'collection', 'dataset', 'container', 'file'].includes(saved.type)
    ) {
      draft.type = saved.type;
    }
    if (typeof saved.filterText === 'string') {
      draft.filterText = saved.filterText;
    }
    if (typeof saved.builderOpen === 'boolean') {
      draft.builderOpen = saved.builderOpen;
    }
    return draft;
  }

  /** Poll frequency for a poll interval given in seconds. */
  export function frequency(seconds: number): IPoll.Frequency {
    const interval = Math.max(1, seconds) * 1000;
    return {
      interval,
      // Grow the wait after each failure, up to MAX_BACKOFF_MS.
      backoff: true,
      max: Math.max(interval, MAX_BACKOFF_MS)
    };
  }
}
