import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IRse, ITarget } from '../api/types';

/**
 * What the pickers of the selected instance offer: its scopes, storage
 * elements, make-available targets and metadata keys.
 *
 * Loaded once per instance (again with `load(true)`), never polled.
 */
export class CatalogueModel implements IDisposable {
  constructor(options: CatalogueModel.IOptions) {
    this._api = options.api;
    this._selected = options.instance;
    this._preferredTarget = options.preferredTarget;
    this._onError = options.onError;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The instance the lists below are of, or null before they are loaded. */
  get instance(): string | null {
    return this._instance;
  }

  get scopes(): string[] | null {
    return this._scopes;
  }

  get targets(): ITarget[] | null {
    return this._targets;
  }

  get rses(): IRse[] | null {
    return this._rses;
  }

  get metadataKeys(): string[] | null {
    return this._metadataKeys;
  }

  /** First error met while loading them, if any. */
  get error(): DataLakeRequestError | null {
    return this._error;
  }

  /** The make-available target proposed first: the preference if offered, else notebook-local. */
  get defaultTarget(): ITarget | null {
    const targets = this._targets ?? [];
    const preferred = this._preferredTarget();
    return (
      targets.find(target => target.id === preferred) ??
      targets.find(target => target.rse_expression === preferred) ??
      targets.find(target => target.id === 'notebook') ??
      targets[0] ??
      null
    );
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Load the lists of the selected instance (once; again with `force`). */
  load(force = false): Promise<void> {
    const instance = this._selected();
    if (instance === null || this._isDisposed) {
      return Promise.resolve();
    }
    const complete =
      this._instance === instance &&
      this._scopes !== null &&
      this._targets !== null &&
      this._metadataKeys !== null;
    if (complete && !force) {
      return Promise.resolve();
    }
    // One load at a time per instance: callers wait for the one under way.
    if (this._loading?.instance === instance) {
      return this._loading.promise;
    }
    const promise = this._fetch(instance).finally(() => {
      if (this._loading?.promise === promise) {
        this._loading = null;
      }
    });
    this._loading = { instance, promise };
    return promise;
  }

  /** Forget the lists (another instance was selected). */
  clear(): void {
    this._set(null, null, null, null, null, null);
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _fetch(instance: string): Promise<void> {
    const [scopes, rses, keys] = await Promise.allSettled([
      this._api.scopes(instance),
      this._api.rses(instance),
      this._api.metadataKeys(instance)
    ]);
    if (this._isDisposed || instance !== this._selected()) {
      return;
    }
    const errors = [scopes, rses, keys]
      .filter(
        (result): result is PromiseRejectedResult =>
          result.status === 'rejected'
      )
      .map(result => toRequestError(result.reason));
    this._set(
      instance,
      scopes.status === 'fulfilled' ? scopes.value : null,
      rses.status === 'fulfilled' ? rses.value.targets : null,
      rses.status === 'fulfilled' ? rses.value.rses : null,
      keys.status === 'fulfilled' ? keys.value : null,
      errors[0] ?? null
    );
    if (errors[0]) {
      this._onError?.(instance, errors[0]);
    }
    this._changed.emit();
  }

  private _set(
    instance: string | null,
    scopes: string[] | null,
    targets: ITarget[] | null,
    rses: IRse[] | null,
    metadataKeys: string[] | null,
    error: DataLakeRequestError | null
  ): void {
    this._instance = instance;
    this._scopes = scopes;
    this._targets = targets;
    this._rses = rses;
    this._metadataKeys = metadataKeys;
    this._error = error;
  }

  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _error: DataLakeRequestError | null = null;
  private _instance: string | null = null;
  private _isDisposed = false;
  private _loading: { instance: string; promise: Promise<void> } | null = null;
  private _metadataKeys: string[] | null = null;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _preferredTarget: () => string;
  private _rses: IRse[] | null = null;
  private _scopes: string[] | null = null;
  private _selected: () => string | null;
  private _targets: ITarget[] | null = null;
}

export namespace CatalogueModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** The selected instance, or null when none is known yet. */
    instance: () => string | null;
    /** The user's preferred make-available target (id or RSE expression). */
    preferredTarget: () => string;
    /** Told about the first failed list of a load (e.g. to notice expired credentials). */
    onError?: (instance: string, error: DataLakeRequestError) => void;
  }
}
