import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  DataLakeRequestError,
  requestAPI,
  SERVER_EXTENSION_MISSING
} from './request';
import {
  ConnectionState,
  IDataLakeModel,
  IDataLakePreferences,
  IStatusResponse
} from './tokens';

/** Preferences used until the settings are loaded; same defaults as schema/plugin.json. */
export const DEFAULT_PREFERENCES: Readonly<IDataLakePreferences> = {
  pollInterval: 30,
  defaultInstance: '',
  defaultLifetimeDays: 7,
  defaultTarget: ''
};

/** Longest wait between two status checks while they keep failing. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

/**
 * State of the data lake as the frontend knows it.
 *
 * One `Poll` fetches `GET /escape-dlaas/status`: at start-up (so a missing
 * server extension or a version mismatch is noticed at once), then
 * periodically while the panel is visible, backing off while checks fail.
 * Nothing else is ever polled: per-item state is fetched on demand.
 * Components only render this model.
 */
export class DataLakeModel implements IDataLakeModel, IDisposable {
  constructor(options: DataLakeModel.IOptions) {
    this.frontendVersion = options.frontendVersion;
    this._serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._preferences = { ...DEFAULT_PREFERENCES, ...options.preferences };
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

  get changed(): ISignal<this, void> {
    return this._changed;
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
    this._preferences = { ...preferences };
    this._poll.frequency = Private.frequency(preferences.pollInterval);
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
    if (visible) {
      // Coming back from standby: show fresh data instead of waiting a period.
      void this.refresh();
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

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _checkStatus(): Promise<IStatusResponse> {
    this._checkRequested = false;
    try {
      const status = await requestAPI<IStatusResponse>(
        'status',
        { method: 'GET' },
        this._serverSettings
      );
      if (!this._isDisposed) {
        this._status = status;
        this._connectionState = 'ready';
        this._problem = null;
        this._lastError = null;
        this._lastChecked = new Date();
        this._changed.emit();
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

  private _changed = new Signal<this, void>(this);
  private _checkRequested = true;
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
  }
}

namespace Private {
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
