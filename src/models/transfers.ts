import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IAvailability, IDidPathsResponse, IRule, ITarget } from '../api/types';
import { isSettledRule } from './followedRules';
import { WatchModel } from './watch';

/**
 * - `requesting`: the rule is being created.
 * - `in-progress`: the rule exists; data is on its way.
 * - `done`: the data is at the target.
 * - `failed`: the rule was refused, or its transfers are stuck.
 */
export type TransferState = 'requesting' | 'in-progress' | 'done' | 'failed';

/** One "make available" the user asked for in this session. */
export interface ITransfer {
  /** Unique in the session. */
  readonly id: number;
  readonly instance: string;
  readonly did: string;
  readonly target: ITarget;
  readonly lifetimeDays: number;
  state: TransferState;
  /** The rule, once created (or found: `created` false). */
  rule: IRule | null;
  created: boolean | null;
  /** Whether the rule brings the data to the notebook-local storage. */
  towardsNotebook: boolean;
  /** Latest availability at the notebook (rules towards the notebook). */
  availability: IAvailability | null;
  /** Why it failed, in the server's words. */
  error: DataLakeRequestError | null;
  /** Rucio's reason for stuck transfers. */
  stuckReason: string | null;
  /**
   * The local paths the server gave when the data arrived (towards the
   * notebook): asking made the DID's folder. The actions ask again, since
   * the folder follows Rucio.
   */
  paths: IDidPathsResponse | null;
  /** Watch check serial when the rule was created: older reports are stale. */
  since: number;
}

/**
 * The "make available" requests of this session, followed to the end.
 *
 * Progress comes from the watch model's one bulk poll: this class never
 * polls by itself. It reads each DID's local paths once, when done, so that
 * the DID's folder is there before the user is told the data is.
 */
export class TransfersModel implements IDisposable {
  constructor(options: TransfersModel.IOptions) {
    this._api = options.api;
    this._watch = options.watch;
    this._onError = options.onError;
    this._watch.changed.connect(this._onWatchChanged, this);
  }

  /** Emitted with a transfer whenever its state or progress changes. */
  get transferChanged(): ISignal<this, ITransfer> {
    return this._transferChanged;
  }

  get transfers(): readonly ITransfer[] {
    return this._transfers;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The latest transfer of a DID, if any. */
  find(instance: string, did: string): ITransfer | undefined {
    for (let i = this._transfers.length - 1; i >= 0; i--) {
      const transfer = this._transfers[i];
      if (transfer.instance === instance && transfer.did === did) {
        return transfer;
      }
    }
    return undefined;
  }

  /**
   * Create the rule and follow it.
   *
   * @returns The transfer, already `failed` when the server refused the rule.
   */
  async start(options: {
    instance: string;
    did: string;
    target: ITarget;
    lifetimeDays: number;
  }): Promise<ITransfer> {
    const transfer: ITransfer = {
      id: ++this._lastId,
      instance: options.instance,
      did: options.did,
      target: options.target,
      lifetimeDays: options.lifetimeDays,
      state: 'requesting',
      rule: null,
      created: null,
      towardsNotebook: options.target.id === 'notebook',
      availability: null,
      error: null,
      stuckReason: null,
      paths: null,
      since: Number.MAX_SAFE_INTEGER
    };
    this._transfers.push(transfer);
    this._emit(transfer);

    try {
      const answer = await this._api.createRule(options.instance, {
        did: options.did,
        target: options.target.id,
        lifetime_days: options.lifetimeDays
      });
      transfer.rule = answer.rule;
      transfer.created = answer.created;
      transfer.towardsNotebook = answer.rule.towards_notebook;
    } catch (reason) {
      transfer.error = toRequestError(reason);
      transfer.state = 'failed';
      this._onError?.(options.instance, transfer.error);
      this._emit(transfer);
      return transfer;
    }

    transfer.state = 'in-progress';
    transfer.since = this._watch.serial;
    this._emit(transfer);
    if (transfer.towardsNotebook) {
      this._watch.watch(transfer.instance, transfer.did, { follow: true });
    } else {
      // Shown among the watched data, its rule followed until it settles.
      this._watch.watch(transfer.instance, transfer.did);
      this._watch.followRule(transfer.instance, transfer.rule!);
    }
    await this._watch.refresh();
    return transfer;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._watch.changed.disconnect(this._onWatchChanged, this);
    Signal.clearData(this);
  }

  private _onWatchChanged(): void {
    for (const transfer of this._transfers) {
      if (transfer.state !== 'in-progress' || transfer.rule === null) {
        continue;
      }
      if (transfer.towardsNotebook) {
        this._updateFromAvailability(transfer);
      } else {
        this._updateFromRule(transfer);
      }
    }
  }

  private _updateFromAvailability(transfer: ITransfer): void {
    const entry = this._watch.get(transfer.instance, transfer.did);
    const availability = entry?.availability ?? null;
    if (
      !entry ||
      availability === null ||
      entry.checked <= transfer.since ||
      JSON.stringify(availability) === JSON.stringify(transfer.availability)
    ) {
      return; // nothing new since the rule was created
    }
    transfer.availability = availability;
    switch (availability.state) {
      case 'AVAILABLE':
      case 'EMPTY':
        this._watch.unfollow(transfer.instance, transfer.did);
        void this._finish(transfer);
        return;
      case 'STUCK':
        transfer.state = 'failed';
        transfer.stuckReason =
          availability.reason ?? 'Rucio reports the transfer as stuck';
        this._watch.unfollow(transfer.instance, transfer.did);
        break;
      case 'UNKNOWN':
        transfer.state = 'failed';
        transfer.stuckReason = availability.reason ?? null;
        this._watch.unfollow(transfer.instance, transfer.did);
        break;
      default:
        break;
    }
    this._emit(transfer);
  }

  private _updateFromRule(transfer: ITransfer): void {
    const rule = this._watch.followedRule(transfer.rule!.id);
    if (!rule) {
      return;
    }
    const settled = isSettledRule(rule);
    if (!settled && JSON.stringify(rule) === JSON.stringify(transfer.rule)) {
      return; // nothing new
    }
    transfer.rule = rule;
    if (rule.state === 'OK') {
      transfer.state = 'done';
      this._watch.unfollowRule(rule.id);
    } else if (settled) {
      transfer.state = 'failed';
      transfer.stuckReason =
        rule.error ?? 'Rucio reports the transfer as stuck';
      this._watch.unfollowRule(rule.id);
    }
    this._emit(transfer);
  }

  /** Done: ask for the local paths once, which makes the DID's folder, then say so. */
  private async _finish(transfer: ITransfer): Promise<void> {
    transfer.state = 'done';
    try {
      transfer.paths = await this._api.didPaths(
        transfer.instance,
        transfer.did
      );
    } catch {
      // The actions ask again (and say what went wrong): the data is here anyway.
      transfer.paths = null;
    }
    this._emit(transfer);
  }

  private _emit(transfer: ITransfer): void {
    if (!this._isDisposed) {
      this._transferChanged.emit(transfer);
    }
  }

  private _api: DataLakeAPI;
  private _isDisposed = false;
  private _lastId = 0;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _transferChanged = new Signal<this, ITransfer>(this);
  private _transfers: ITransfer[] = [];
  private _watch: WatchModel;
}

export namespace TransfersModel {
  export interface IOptions {
    api: DataLakeAPI;
    watch: WatchModel;
    onError?: (instance: string, error: DataLakeRequestError) => void;
  }
}
