import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IRulePreview } from '../api/types';
import type { LoadState } from './details';
import { noInstanceError } from './rules';

/** Milliseconds a typed lifetime waits before it is asked about (typing "14" is one request). */
export const LIFETIME_DELAY_MS = 400;

/** What the make-available dialog asks about: a target and a lifetime. */
export interface IPreviewRequest {
  /** `notebook` or a QoS class (ITarget.id). */
  target: string;
  lifetimeDays: number;
}

/**
 * What making one DID available would do, known before the click: the
 * server's `GET rules/preview` (data to move, quota, embargo, storage for
 * the target, the user's rule for it already). The make-available dialog
 * makes one when it opens and disposes it when it closes.
 *
 * Asked by `ask`: at once for a new target, after a pause in typing for a
 * new lifetime. Only the answer to the latest question counts: an older one
 * still on its way is aborted, and dropped if it comes anyway. Errors of
 * the preview are kept in `error`, for the dialog to show.
 */
export class RulePreviewModel implements IDisposable {
  constructor(options: RulePreviewModel.IOptions) {
    this._api = options.api;
    this.instance = options.instance;
    this.did = options.did;
    this._onError = options.onError;
    this._onSuccess = options.onSuccess;
    this._lifetimeDelay = options.lifetimeDelay ?? LIFETIME_DELAY_MS;
  }

  /** The instance asked, or null when none is known (then every question fails). */
  readonly instance: string | null;

  /** The DID to make available (`scope:name`). */
  readonly did: string;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** `loading` from a question to its answer; `ready` with `preview`, `error` with `error`. */
  get state(): LoadState {
    return this._state;
  }

  /**
   * The answer for the current target: for the latest lifetime once
   * `ready`; while `loading` after a new lifetime, the previous one (what
   * is refused does not depend on the lifetime). Null for a new target
   * until its answer comes.
   */
  get preview(): IRulePreview | null {
    return this._preview;
  }

  /** Why the last question got no answer. */
  get error(): DataLakeRequestError | null {
    return this._error;
  }

  /** The latest question (with a valid lifetime). */
  get request(): IPreviewRequest | null {
    return this._request;
  }

  /** Whether Rucio would surely refuse a new rule for the current target. */
  get refused(): boolean {
    return this._preview?.outcome === 'refused';
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Ask what making the DID available at `target` for `lifetimeDays` would
   * do. A lifetime that is not a number above 0 is not asked about (the
   * dialog refuses it by itself); the same question twice is asked once.
   */
  ask(request: IPreviewRequest): void {
    if (
      this._isDisposed ||
      !Number.isFinite(request.lifetimeDays) ||
      request.lifetimeDays <= 0
    ) {
      return;
    }
    const previous = this._request;
    if (
      previous !== null &&
      previous.target === request.target &&
      previous.lifetimeDays === request.lifetimeDays &&
      this._state !== 'error'
    ) {
      return;
    }
    const sameTarget = previous !== null && previous.target === request.target;
    this._request = { ...request };
    this._cancelPending();
    const generation = ++this._generation;
    if (!sameTarget) {
      // What was found for another target says nothing of this one.
      this._preview = null;
    }
    this._error = null;
    this._state = 'loading';
    this._changed.emit();
    if (sameTarget) {
      this._timer = setTimeout(() => {
        this._timer = null;
        void this._fetch(generation);
      }, this._lifetimeDelay);
    } else {
      void this._fetch(generation);
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._generation++;
    this._cancelPending();
    Signal.clearData(this);
  }

  private async _fetch(generation: number): Promise<void> {
    const request = this._request!;
    const instance = this.instance;
    const controller = new AbortController();
    this._abort = controller;
    try {
      if (instance === null) {
        throw noInstanceError();
      }
      const preview = await this._api.rulePreview(
        instance,
        {
          did: this.did,
          target: request.target,
          lifetime_days: request.lifetimeDays
        },
        controller.signal
      );
      if (generation !== this._generation) {
        return;
      }
      this._preview = preview;
      this._error = null;
      this._state = 'ready';
      this._onSuccess?.(instance);
    } catch (reason) {
      if (generation !== this._generation) {
        return; // aborted or overtaken: a newer question is under way
      }
      this._preview = null;
      this._error = toRequestError(reason);
      this._state = 'error';
      if (instance !== null) {
        this._onError?.(instance, this._error);
      }
    } finally {
      if (this._abort === controller) {
        this._abort = null;
      }
    }
    this._changed.emit();
  }

  private _cancelPending(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._abort?.abort();
    this._abort = null;
  }

  private _abort: AbortController | null = null;
  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _error: DataLakeRequestError | null = null;
  /** Bumped by each question: a late answer to an older one is dropped. */
  private _generation = 0;
  private _isDisposed = false;
  private _lifetimeDelay: number;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _onSuccess?: (instance: string) => void;
  private _preview: IRulePreview | null = null;
  private _request: IPreviewRequest | null = null;
  private _state: LoadState = 'idle';
  private _timer: ReturnType<typeof setTimeout> | null = null;
}

export namespace RulePreviewModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** The instance to ask; null when none is known yet. */
    instance: string | null;
    did: string;
    /** Told about a failed question (e.g. to notice expired credentials). */
    onError?: (instance: string, error: DataLakeRequestError) => void;
    onSuccess?: (instance: string) => void;
    /** Milliseconds a new lifetime waits before it is asked about (default LIFETIME_DELAY_MS). */
    lifetimeDelay?: number;
  }
}
