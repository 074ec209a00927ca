import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import {
  DataLakeRequestError,
  isUnauthorized,
  toRequestError
} from '../api/request';
import { IWhoAmI } from '../api/types';

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

/**
 * Who the user is at the selected instance (`GET whoami`: the account and
 * what the server knows of the token, never the token itself).
 *
 * Asked on demand, never polled by itself: the connection's status checks
 * ask again while the panel is visible. Any call to the instance tells it
 * how it went (`noteFailure`, `noteSuccess`), so a 401 anywhere shows the
 * user as signed out, and the next call that works after it asks again.
 */
export class IdentityModel implements IDisposable {
  constructor(options: IdentityModel.IOptions) {
    this._api = options.api;
    this._instance = options.instance;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get state(): IdentityState {
    return this._state;
  }

  /** The account and token summary, when signed in. */
  get whoami(): IWhoAmI | null {
    return this._whoami;
  }

  /** Why the user is signed out, or why their identity is unknown. */
  get error(): DataLakeRequestError | null {
    return this._error;
  }

  /** When `whoami` arrived (ms since the epoch): its `expires_in` counts from then. */
  get receivedAt(): number | null {
    return this._receivedAt;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Ask again who the user is at the selected instance. */
  async refresh(): Promise<void> {
    const instance = this._instance();
    if (instance === null || this._isDisposed) {
      return;
    }
    const generation = ++this._generation;
    if (this._state === 'unknown') {
      this._state = 'loading';
      this._changed.emit();
    }
    try {
      const whoami = await this._api.whoami(instance);
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._set('signed-in', whoami, null, Date.now());
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      const error = toRequestError(reason);
      this._set(isUnauthorized(error) ? 'signed-out' : 'error', null, error);
    }
    this._changed.emit();
  }

  /** Another instance was selected: its identity is not known yet. */
  reset(): void {
    this._generation++;
    this._set('unknown', null, null);
    this._changed.emit();
  }

  /** A call to an instance failed: missing or expired credentials sign the user out. */
  noteFailure(instance: string, error: DataLakeRequestError): void {
    if (
      isUnauthorized(error) &&
      instance === this._instance() &&
      !this._isDisposed
    ) {
      this._generation++;
      this._set('signed-out', null, error);
      this._changed.emit();
    }
  }

  /** A call to an instance worked: after a sign-in problem, ask who the user is again. */
  noteSuccess(instance: string): void {
    if (
      instance === this._instance() &&
      this._state === 'signed-out' &&
      !this._isDisposed
    ) {
      void this.refresh();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _set(
    state: IdentityState,
    whoami: IWhoAmI | null,
    error: DataLakeRequestError | null,
    receivedAt: number | null = null
  ): void {
    this._state = state;
    this._whoami = whoami;
    this._error = error;
    this._receivedAt = receivedAt;
  }

  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _error: DataLakeRequestError | null = null;
  /** Bumped by each question and change: a late answer to an older one is dropped. */
  private _generation = 0;
  private _instance: () => string | null;
  private _isDisposed = false;
  private _receivedAt: number | null = null;
  private _state: IdentityState = 'unknown';
  private _whoami: IWhoAmI | null = null;
}

export namespace IdentityModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** The selected instance, or null when none is known yet. */
    instance: () => string | null;
  }
}
