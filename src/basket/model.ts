/**
 * The user's ESAP basket in the panel: loaded on demand from `GET basket`,
 * the availability of its Rucio items kept fresh by the panel's watch poll
 * (the basket's DIDs are watched, so they also appear in "My data").
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IAvailability, IBasket, IBasketItem, ITarget } from '../api/types';
import type { LoadState } from '../models/details';
import { DataLakeModel } from '../models/datalake';
import {
  IMakeAllResult,
  IPendingTotals,
  makeEachAvailable,
  pendingTotals
} from '../models/makeAll';

/** A Rucio item of the basket that "make all available" may ask for. */
export interface IBasketDid {
  instance: string;
  did: string;
  availability: IAvailability | null;
  /** Its size as the basket says; null when not known. */
  bytes: number | null;
}

export class BasketModel implements IDisposable {
  constructor(options: BasketModel.IOptions) {
    this._api = options.api;
    this._lake = options.lake;
    this._lake.watch.changed.connect(this._emitChanged, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** `idle` before the first load; `loading`; `ready` with `basket`; `error` with `error`. */
  get state(): LoadState | 'idle' {
    return this._state;
  }

  get basket(): IBasket | null {
    return this._basket;
  }

  get error(): DataLakeRequestError | null {
    return this._error;
  }

  /** The item's availability: the watch poll's latest, else what the basket said. */
  availabilityOf(item: IBasketItem): IAvailability | null {
    const instance = this._basket?.instance;
    if (!item.did || !instance) {
      return null;
    }
    return (
      this._lake.watch.get(instance, item.did)?.availability ??
      item.availability ??
      null
    );
  }

  /** Rucio items the instance knows and would not refuse for an embargo. */
  get movableItems(): IBasketItem[] {
    return (this._basket?.items ?? []).filter(
      item => item.kind === 'rucio' && item.found && !item.embargo && item.did
    );
  }

  /** What "make all available" would move; sizes from the basket's items. */
  get totals(): IPendingTotals<IBasketDid> {
    const instance = this._basket?.instance ?? '';
    const entries = this.movableItems.map(item => ({
      instance,
      did: item.did!,
      availability: this.availabilityOf(item),
      bytes: typeof item.bytes === 'number' ? item.bytes : null
    }));
    return pendingTotals(entries, entry => entry.bytes);
  }

  /** Ask the server for the basket (again); its known Rucio items are watched. */
  async load(): Promise<void> {
    const asked = ++this._asked;
    this._state = 'loading';
    this._changed.emit();
    try {
      const basket = await this._api.basket(this._lake.instanceName);
      if (asked !== this._asked || this._isDisposed) {
        return;
      }
      this._basket = basket;
      this._error = null;
      this._state = 'ready';
      for (const item of basket.items) {
        if (
          basket.instance &&
          item.kind === 'rucio' &&
          item.found &&
          item.did
        ) {
          this._lake.watch.watch(basket.instance, item.did, {
            availability: item.availability ?? null
          });
        }
      }
    } catch (reason) {
      if (asked !== this._asked || this._isDisposed) {
        return;
      }
      // The basket's own trouble (ESAP down, a refused sign-in at ESAP): said here, the rest of the panel is unaffected.
      this._error = toRequestError(reason);
      this._state = 'error';
    }
    this._changed.emit();
  }

  /** Make each DID available at the target, one rule each (progress is notified per transfer). */
  async makeAllAvailable(
    target: ITarget,
    lifetimeDays: number,
    entries: { instance: string; did: string }[] = this.totals.pending
  ): Promise<IMakeAllResult> {
    return makeEachAvailable(this._lake, entries, target, lifetimeDays);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._lake.watch.changed.disconnect(this._emitChanged, this);
    Signal.clearData(this);
  }

  private _emitChanged(): void {
    this._changed.emit();
  }

  private _api: DataLakeAPI;
  private _asked = 0;
  private _basket: IBasket | null = null;
  private _changed = new Signal<this, void>(this);
  private _error: DataLakeRequestError | null = null;
  private _isDisposed = false;
  private _lake: DataLakeModel;
  private _state: LoadState | 'idle' = 'idle';
}

export namespace BasketModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** The panel's model: the instance, the watch poll, make-available. */
    lake: DataLakeModel;
  }
}
