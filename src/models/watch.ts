import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IAvailability, IRule } from '../api/types';
import { IDataLakePreferences } from '../tokens';
import { DueChecks } from './dueChecks';
import { EventsModel, IRuleEvent } from './events';
import { FollowedRules, IFollowedRule } from './followedRules';
import { watchFrequency, watchStandby } from './polling';
import {
  checkAvailability,
  didsByInstance,
  entriesOfState,
  newEntry,
  IAvailabilityChange,
  IWatchedEntry,
  IWatchedState,
  watchedState,
  watchKey
} from './watchedEntries';

/**
 * The DIDs the user asked for, and their availability at the notebook.
 *
 * ONE `Poll` refreshes them: each tick sends one bulk
 * `POST instances/{i}/availability` per instance for every watched DID (and,
 * only while a rule towards a QoS class is followed, one `GET instances/{i}/rules`),
 * never one request per DID. The poll runs at the transfer interval while
 * something is on its way, at the normal interval otherwise, stands by when
 * nothing is watched or the panel is hidden with nothing on its way, and backs
 * off while checks fail.
 *
 * With `checkChangesOnly`, a tick checks only the watched DIDs whose rules
 * changed since the last tick (all of them once a minute; see DueChecks);
 * rules towards a QoS class are followed by FollowedRules. With `events`, an event
 * of a watched DID's or followed rule's checks it at once, and the poll slows
 * down to LIVE_POLL_SECONDS while every followed instance is live.
 */
export class WatchModel implements IDisposable {
  constructor(options: WatchModel.IOptions) {
    this._api = options.api;
    this._preferences = options.preferences;
    this._isPanelVisible = options.isPanelVisible;
    this._onError = options.onError;
    this._onSuccess = options.onSuccess;
    this._events = options.events ?? null;
    this._dueChecks = new DueChecks({
      api: this._api,
      changesOnly: options.checkChangesOnly ?? false,
      isLive: instance => this._events?.isLive(instance) ?? false
    });
    this._events?.ruleEvent.connect(this._onRuleEvent, this);
    this._events?.liveChanged.connect(this._onLiveChanged, this);
    this._poll = new Poll<void, DataLakeRequestError>({
      factory: () => this._check(),
      frequency: this._frequency(),
      name: 'escape-dlaas:availability',
      standby: () => this._standby()
    });
  }

  /** Emitted when the set, an availability, a followed rule or the error changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted with the availabilities a check changed. */
  get availabilityChanged(): ISignal<this, IAvailabilityChange[]> {
    return this._availabilityChanged;
  }

  /** Emitted with the followed rules a check changed. */
  get rulesChanged(): ISignal<this, IFollowedRule[]> {
    return this._rulesChanged;
  }

  /** Watched DIDs, most recent first. */
  get entries(): IWatchedEntry[] {
    return [...this._entries.values()].sort((a, b) => b.addedAt - a.addedAt);
  }

  /** Error of the last check; null when it succeeded. */
  get error(): DataLakeRequestError | null {
    return this._error;
  }

  /** When the last successful check finished. */
  get lastUpdated(): Date | null {
    return this._lastUpdated;
  }

  /** Whether something is on its way (the poll then runs at the transfer interval). */
  get isActive(): boolean {
    for (const entry of this._entries.values()) {
      if (
        entry.availability === null ||
        entry.availability.state === 'REPLICATING' ||
        this._followed.has(watchKey(entry.instance, entry.did))
      ) {
        return true;
      }
    }
    return this._rules.hasUnsettled;
  }

  /** Serial number of the latest check started; entries carry the one that reported them. */
  get serial(): number {
    return this._serial;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get(instance: string, did: string): IWatchedEntry | undefined {
    return this._entries.get(watchKey(instance, did));
  }

  has(instance: string, did: string): boolean {
    return this._entries.has(watchKey(instance, did));
  }

  /**
   * Watch a DID (no-op when watched already, except for the options).
   *
   * @param options.availability - What is known already (e.g. from a search result).
   * @param options.follow - Check at the transfer interval until `unfollow`.
   */
  watch(
    instance: string,
    did: string,
    options: { availability?: IAvailability | null; follow?: boolean } = {}
  ): void {
    const key = watchKey(instance, did);
    const existing = this._entries.get(key);
    if (!existing) {
      this._entries.set(
        key,
        newEntry(instance, did, options.availability ?? null)
      );
    } else if (options.availability) {
      existing.availability = options.availability;
    }
    if (options.follow) {
      this._followed.add(key);
    }
    this._afterChange();
  }

  /** Stop checking a DID at the transfer interval (its transfer settled). */
  unfollow(instance: string, did: string): void {
    if (this._followed.delete(watchKey(instance, did))) {
      this._afterChange();
    }
  }

  unwatch(instance: string, did: string): void {
    const key = watchKey(instance, did);
    this._followed.delete(key);
    if (this._entries.delete(key)) {
      this._afterChange();
    }
  }

  /** Follow a rule that does not bring data to the notebook (a QoS class) until it settles. */
  followRule(instance: string, rule: IRule): void {
    this._rules.set(instance, rule);
    this._afterChange();
  }

  /** Last known state of a followed rule. */
  followedRule(ruleId: string): IRule | undefined {
    return this._rules.get(ruleId);
  }

  /** Forget a followed rule. */
  unfollowRule(ruleId: string): void {
    if (this._rules.delete(ruleId)) {
      this._afterChange();
    }
  }

  /** Check now, even when the panel is hidden; resolves when the check is done. */
  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    this._requested = true;
    await this._poll.refresh();
    await this._poll.tick.catch(() => undefined);
  }

  /** Apply new preferences or visibility: the poll interval depends on them. */
  update(): void {
    if (!this._isDisposed) {
      this._poll.frequency = this._frequency();
    }
  }

  toJSON(): IWatchedState {
    return watchedState(this.entries);
  }

  /** Watch what a previous session watched (availability is checked anew). */
  restore(state: IWatchedState | null | undefined): void {
    if (!state || !Array.isArray(state.dids)) {
      return;
    }
    for (const entry of entriesOfState(state)) {
      if (!this.has(entry.instance, entry.did)) {
        this._entries.set(watchKey(entry.instance, entry.did), entry);
      }
    }
    this._afterChange();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.ruleEvent.disconnect(this._onRuleEvent, this);
    this._events?.liveChanged.disconnect(this._onLiveChanged, this);
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _afterChange(): void {
    this._events?.follow(this._instances());
    this.update();
    this._changed.emit();
  }

  /** The instances of the watched DIDs and followed rules. */
  private _instances(): Set<string> {
    const instances = new Set<string>();
    this._entries.forEach(entry => instances.add(entry.instance));
    this._rules.instances.forEach(instance => instances.add(instance));
    return instances;
  }

  /** Whether Rucio's events arrive for every followed instance. */
  private _allLive(): boolean {
    const instances = this._instances();
    if (this._events === null || instances.size === 0) {
      return false;
    }
    return [...instances].every(instance => this._events!.isLive(instance));
  }

  private _frequency(): IPoll.Frequency {
    return watchFrequency(this._preferences(), {
      active: this.isActive,
      allLive: this._allLive()
    });
  }

  /** An event of a watched DID or a followed rule: check it now. */
  private _onRuleEvent(_: EventsModel, event: IRuleEvent): void {
    const key = watchKey(event.instance, event.did);
    const followed = this._rules.has(event.ruleId);
    if (!this._entries.has(key) && !followed) {
      return;
    }
    this._dirty.add(key);
    if (followed) {
      this._rules.markDirty(event.instance);
    }
    void this.refresh();
  }

  /** The stream of an instance came or went: the pace changes, and what it may have missed is checked. */
  private _onLiveChanged(_: EventsModel, instance: string): void {
    this._dueChecks.checkAllNext(instance);
    this.update();
  }

  private _standby(): boolean | Poll.Standby {
    return watchStandby({
      requested: this._requested,
      empty: this._entries.size === 0 && this._rules.size === 0,
      active: this.isActive,
      panelVisible: this._isPanelVisible()
    });
  }

  private async _check(): Promise<void> {
    this._requested = false;
    const serial = ++this._serial;
    const byInstance = didsByInstance(this._entries.values());
    const rulesByInstance = this._rules.takeDue();
    const dirty = new Set(this._dirty);
    this._dirty.clear();
    const instances = new Set([...byInstance.keys(), ...rulesByInstance]);

    const changes: IAvailabilityChange[] = [];
    const ruleChanges: IFollowedRule[] = [];
    let failure: DataLakeRequestError | null = null;

    await Promise.all(
      [...instances].map(async instance => {
        try {
          // Whatever changed: what an event named, and what was never checked.
          const due = await this._dueChecks.due(
            instance,
            byInstance.get(instance) ?? [],
            did =>
              dirty.has(watchKey(instance, did)) ||
              !this.get(instance, did)?.checked
          );
          changes.push(
            ...(await checkAvailability(
              this._api,
              instance,
              due.dids,
              this._entries,
              serial
            ))
          );
          if (rulesByInstance.has(instance)) {
            // What changed lately is enough: a followed rule that did not change is as it was.
            const mine =
              due.changes?.rules ?? (await this._api.myRules(instance));
            ruleChanges.push(...this._rules.update(instance, mine));
          }
          this._onSuccess?.(instance);
        } catch (reason) {
          const error = toRequestError(reason);
          failure = error;
          // What an event asked for is checked again next time.
          dirty.forEach(key => this._dirty.add(key));
          this._onError?.(instance, error);
        }
      })
    );

    if (this._isDisposed) {
      return;
    }
    this._error = failure;
    if (failure === null) {
      this._lastUpdated = new Date();
    }
    if (ruleChanges.length > 0) {
      this._rulesChanged.emit(ruleChanges);
    }
    if (changes.length > 0) {
      this._availabilityChanged.emit(changes);
    }
    this._afterChange();
    if (failure !== null) {
      // Rejecting makes the poll back off.
      throw failure;
    }
  }

  private _api: DataLakeAPI;
  private _dirty = new Set<string>();
  private _dueChecks: DueChecks;
  private _events: EventsModel | null;
  private _availabilityChanged = new Signal<this, IAvailabilityChange[]>(this);
  private _changed = new Signal<this, void>(this);
  private _entries = new Map<string, IWatchedEntry>();
  private _error: DataLakeRequestError | null = null;
  private _followed = new Set<string>();
  private _isDisposed = false;
  private _isPanelVisible: () => boolean;
  private _lastUpdated: Date | null = null;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _onSuccess?: (instance: string) => void;
  private _poll: Poll<void, DataLakeRequestError>;
  private _preferences: () => IDataLakePreferences;
  private _requested = false;
  private _serial = 0;
  private _rules = new FollowedRules();
  private _rulesChanged = new Signal<this, IFollowedRule[]>(this);
}

export namespace WatchModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** Current preferences (poll intervals), read at each scheduling. */
    preferences: () => IDataLakePreferences;
    /** Whether the Data Lake panel is shown. */
    isPanelVisible: () => boolean;
    /** Told about each failed check (e.g. to notice expired credentials). */
    onError?: (instance: string, error: DataLakeRequestError) => void;
    /** Told about each successful check of an instance. */
    onSuccess?: (instance: string) => void;
    /** Rucio's live events: checks at once what they name, and slows the poll while they arrive. */
    events?: EventsModel;
    /** Check only the DIDs whose rules changed since the last tick (and all of them once a minute). */
    checkChangesOnly?: boolean;
  }
}
