import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, SERVER_EXTENSION_MISSING } from '../api/request';
import { DatabaseState, IInstanceStatus, IStatusResponse } from '../api/types';
import { ConnectionState } from '../tokens';
import { backoffFrequency } from './polling';

/**
 * Where the frontend stands with the server extension: the `GET status`
 * answer (its version, the configured instances and whether Rucio answers),
 * checked by a `Poll`.
 *
 * The poll checks at start-up (so a missing server extension or a version
 * mismatch is noticed at once), then periodically while the panel is
 * visible, and backs off while checks fail. A failed check keeps the last
 * good status.
 */
export class ConnectionModel implements IDisposable {
  constructor(options: ConnectionModel.IOptions) {
    this.frontendVersion = options.frontendVersion;
    this._api = options.api;
    this._pollInterval = options.pollInterval;
    this._isPanelVisible = options.isPanelVisible;
    this._afterCheck = options.afterCheck;
    this._poll = new Poll<IStatusResponse, DataLakeRequestError>({
      factory: () => this._check(),
      frequency: backoffFrequency(this._pollInterval()),
      name: 'escape-dlaas:status',
      // A hidden panel needs no fresh status, except when someone asked for it.
      standby: () =>
        this._checkRequested
          ? 'never'
          : this._isPanelVisible()
            ? 'when-hidden'
            : true
    });
  }

  /** Version of this frontend, compared with the server extension's. */
  readonly frontendVersion: string;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Last status received from the server, kept while later checks fail. */
  get status(): IStatusResponse | null {
    return this._status;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Message of the last failed check, for the scientist; null when ready. */
  get problem(): string | null {
    return this._problem;
  }

  /** The error of the last failed check, with its HTTP status and reason. */
  get lastError(): DataLakeRequestError | null {
    return this._lastError;
  }

  /** When the last successful check finished. */
  get lastChecked(): Date | null {
    return this._lastChecked;
  }

  /** True when the server extension reports another version than this frontend. */
  get versionMismatch(): boolean {
    return (
      this._status !== null &&
      !sameRelease(this.frontendVersion, this._status.version)
    );
  }

  /** The configured instances, as the last status check listed them. */
  get instances(): IInstanceStatus[] {
    return this._status?.instances ?? [];
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Check now, even while the panel is hidden; resolves when the check is done. */
  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    this._checkRequested = true;
    await this._poll.refresh();
    // The next tick is the end of the check just scheduled (or of standby).
    await this._poll.tick.catch(() => undefined);
  }

  /** Apply a new poll interval (read from `pollInterval`). */
  update(): void {
    if (!this._isDisposed) {
      this._poll.frequency = backoffFrequency(this._pollInterval());
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _check(): Promise<IStatusResponse> {
    this._checkRequested = false;
    try {
      const status = await this._api.status();
      if (!this._isDisposed) {
        const previous = this._status;
        this._status = status;
        this._state = 'ready';
        this._problem = null;
        this._lastError = null;
        this._lastChecked = new Date();
        this._changed.emit();
        await this._afterCheck?.(previous);
      }
      return status;
    } catch (reason) {
      const error =
        reason instanceof DataLakeRequestError
          ? reason
          : new DataLakeRequestError(String(reason), 0, 'unexpected');
      if (!this._isDisposed) {
        this._state =
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

  private _afterCheck?: (previous: IStatusResponse | null) => Promise<void>;
  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _checkRequested = true;
  private _isDisposed = false;
  private _isPanelVisible: () => boolean;
  private _lastChecked: Date | null = null;
  private _lastError: DataLakeRequestError | null = null;
  private _poll: Poll<IStatusResponse, DataLakeRequestError>;
  private _pollInterval: () => number;
  private _problem: string | null = null;
  private _state: ConnectionState = 'loading';
  private _status: IStatusResponse | null = null;
}

export namespace ConnectionModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** Version of this frontend, compared with the server extension's. */
    frontendVersion: string;
    /** Seconds between two checks while the panel is visible (read at `update`). */
    pollInterval: () => number;
    /** Whether the Data Lake panel is shown: the status is polled only then. */
    isPanelVisible: () => boolean;
    /**
     * Called after each successful check with the status it replaced; the
     * check (and so `refresh`) ends when the returned promise settles.
     */
    afterCheck?: (previous: IStatusResponse | null) => Promise<void>;
  }
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

/**
 * The instance to use by default: the user's preferred one if the status
 * lists it, else the administrator's default, else the first; null without any.
 */
export function defaultInstanceName(
  status: IStatusResponse | null,
  preferred: string
): string | null {
  const instances = status?.instances ?? [];
  const listed = (name: string | null | undefined): name is string =>
    !!name && instances.some(instance => instance.name === name);
  if (listed(preferred)) {
    return preferred;
  }
  const serverDefault = status?.default_instance ?? null;
  if (listed(serverDefault)) {
    return serverDefault;
  }
  return instances.length > 0 ? instances[0].name : null;
}

/** The instance the user chose if the status lists it, else the default one. */
export function selectedInstanceName(
  status: IStatusResponse | null,
  chosen: string | null,
  preferred: string
): string | null {
  const instances = status?.instances ?? [];
  if (chosen && instances.some(instance => instance.name === chosen)) {
    return chosen;
  }
  return defaultInstanceName(status, preferred);
}

/**
 * A part of the data lake that can be down, as the panel names it: Rucio,
 * Rucio's database, the token issuer, JupyterHub, or another source of
 * tokens (oidc-agent, a token file service...).
 */
export type LakeService =
  'rucio' | 'database' | 'token-issuer' | 'hub' | 'token-source';

/** `reason` of the server's errors when Rucio cannot reach its database. */
export const DATABASE_UNAVAILABLE = 'rucio_database_unavailable';

/**
 * The service an error says is down: a 503 or 504 of the server naming a
 * `service`. Null for any other error: a 401 (expired credentials are the
 * user's to renew), a 502 (the service answered, unreadably), input errors.
 */
export function failingService(
  error: DataLakeRequestError | null | undefined
): LakeService | null {
  if (!error?.service || (error.status !== 503 && error.status !== 504)) {
    return null;
  }
  switch (error.service) {
    case 'Rucio':
      return error.reason === DATABASE_UNAVAILABLE ? 'database' : 'rucio';
    case 'token issuer':
      return 'token-issuer';
    case 'JupyterHub':
      return 'hub';
    default:
      return 'token-source';
  }
}

/** What keeps an instance from working, as the status view shows it. */
export interface IInstanceHealth {
  /** The service that is down, or null when the instance works. */
  down: LakeService | null;
  /** The server's explanation of what is down; null when nothing is. */
  problem: string | null;
  /** What the last check found of Rucio's database. */
  database: DatabaseState;
}

/**
 * An instance's health: its status (Rucio and its database) and, for the
 * selected instance, why the user's sign-in could not be checked (the token
 * issuer or the hub down; `signInError` is the identity's error).
 */
export function instanceHealth(
  instance: IInstanceStatus,
  signInError: DataLakeRequestError | null = null
): IInstanceHealth {
  const database = instance.database ?? 'unknown';
  if (!instance.reachable) {
    return {
      down: database === 'unavailable' ? 'database' : 'rucio',
      problem: instance.error ?? null,
      database
    };
  }
  const service = failingService(signInError);
  if (service !== null && service !== 'rucio' && service !== 'database') {
    return { down: service, problem: signInError!.message, database };
  }
  return { down: null, problem: null, database };
}
