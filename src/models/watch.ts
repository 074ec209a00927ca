import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI, MAX_AVAILABILITY_DIDS } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IAvailability, IRule, IRuleChanges } from '../api/types';
import { IDataLakePreferences } from '../tokens';
import { EventsModel, IRuleEvent } from './events';
import { backoffFrequency } from './polling';

/** While Rucio's events arrive, the poll is only a safety net: at most once a minute. */
export const LIVE_POLL_SECONDS = 60;
/** With change-only checks, every watched DID is still checked this often (replicas of other accounts' rules). */
export const FULL_CHECK_MS = 60 * 1000;
/** ... and this often while events arrive. */
export const LIVE_FULL_CHECK_MS = 5 * 60 * 1000;

/** Rule states after which a rule no longer changes by itself. */
const SETTLED_RULE_STATES = new Set(['OK', 'STUCK', 'SUSPENDED']);

/** Whether a rule has settled (OK, STUCK or SUSPENDED): it no longer changes by itself. */
export function isSettledRule(rule: IRule): boolean {
  return SETTLED_RULE_STATES.has(rule.state);
}

/** One DID the panel keeps an eye on. */
export interface IWatchedEntry {
  instance: string;
  did: string;
  /** Last known availability at the notebook; null before the first check. */
  availability: IAvailability | null;
  /** When it was added (ms since the epoch), for ordering. */
  addedAt: number;
  /** Serial number of the check that last reported it; 0 before any. */
  checked: number;
}

/** A change of availability seen by the poll. */
export interface IAvailabilityChange {
  instance: string;
  did: string;
  previous: IAvailability | null;
  current: IAvailability;
}

/** What survives a page reload (IStateDB): which DIDs are watched. */
export interface IWatchedState {
  dids: { instance: string; did: string; addedAt?: number }[];
}

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
 * With `checkChangesOnly`, a tick first asks `GET instances/{i}/changes` for
 * the account's rules updated since the last tick and checks only the watched
 * DIDs those rules are on (all of them once a minute). With `events`, an event
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
    this._changesOnly = options.checkChangesOnly ?? false;
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
  get rulesChanged(): ISignal<this, { instance: string; rule: IRule }[]> {
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
        this._followed.has(Private.key(entry.instance, entry.did))
      ) {
        return true;
      }
    }
    for (const { rule } of this._rules.values()) {
      if (!isSettledRule(rule)) {
        return true;
      }
    }
    return false;
  }

  /** Serial number of the latest check started; entries carry the one that reported them. */
  get serial(): number {
    return this._serial;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get(instance: string, did: string): IWatchedEntry | undefined {
    return this._entries.get(Private.key(instance, did));
  }

  has(instance: string, did: string): boolean {
    return this._entries.has(Private.key(instance, did));
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
    const key = Private.key(instance, did);
    const existing = this._entries.get(key);
    if (!existing) {
      this._entries.set(key, {
        instance,
        did,
        availability: options.availability ?? null,
        addedAt: Date.now(),
        checked: 0
      });
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
    if (this._followed.delete(Private.key(instance, did))) {
      this._afterChange();
    }
  }

  unwatch(instance: string, did: string): void {
    const key = Private.key(instance, did);
    this._followed.delete(key);
    if (this._entries.delete(key)) {
      this._afterChange();
    }
  }

  /** Follow a rule that does not bring data to the notebook (a QoS class) until it settles. */
  followRule(instance: string, rule: IRule): void {
    this._rules.set(rule.id, { instance, rule });
    this._afterChange();
  }

  /** Last known state of a followed rule. */
  followedRule(ruleId: string): IRule | undefined {
    return this._rules.get(ruleId)?.rule;
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
    return {
      dids: this.entries.map(({ instance, did, addedAt }) => ({
        instance,
        did,
        addedAt
      }))
    };
  }

  /** Watch what a previous session watched (availability is checked anew). */
  restore(state: IWatchedState | null | undefined): void {
    if (!state || !Array.isArray(state.dids)) {
      return;
    }
    for (const item of state.dids) {
      if (
        typeof item?.instance === 'string' &&
        typeof item.did === 'string' &&
        !this.has(item.instance, item.did)
      ) {
        this._entries.set(Private.key(item.instance, item.did), {
          instance: item.instance,
          did: item.did,
          availability: null,
          addedAt: typeof item.addedAt === 'number' ? item.addedAt : Date.now(),
          checked: 0
        });
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
    this._rules.forEach(({ instance }) => instances.add(instance));
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
    const preferences = this._preferences();
    const interval = this.isActive
      ? Math.min(preferences.transferPollInterval, preferences.pollInterval)
      : preferences.pollInterval;
    return backoffFrequency(
      this._allLive() ? Math.max(interval, LIVE_POLL_SECONDS) : interval
    );
  }

  /** An event of a watched DID or a followed rule: check it now. */
  private _onRuleEvent(_: EventsModel, event: IRuleEvent): void {
    const key = Private.key(event.instance, event.did);
    const followed = this._rules.get(event.ruleId);
    if (!this._entries.has(key) && !followed) {
      return;
    }
    this._dirty.add(key);
    if (followed) {
      this._rulesDirty.add(event.instance);
    }
    void this.refresh();
  }

  /** The stream of an instance came or went: the pace changes, and what it may have missed is checked. */
  private _onLiveChanged(_: EventsModel, instance: string): void {
    this._lastFull.delete(instance);
    this.update();
  }

  /** Which watched DIDs of an instance to check in this tick, and the rules its changes reported. */
  private async _due(
    instance: string,
    dids: string[],
    dirty: Set<string>
  ): Promise<{ dids: string[]; changes: IRuleChanges | null }> {
    const live = this._events?.isLive(instance) ?? false;
    const last = this._lastFull.get(instance);
    const fullDue =
      !this._changesOnly ||
      this._changesUnsupported.has(instance) ||
      last === undefined ||
      Date.now() - last >= (live ? LIVE_FULL_CHECK_MS : FULL_CHECK_MS);
    let changes: IRuleChanges | null = null;
    if (this._changesOnly && !this._changesUnsupported.has(instance)) {
      try {
        changes = await this._api.changes(
          instance,
          this._since.get(instance) ?? null
        );
      } catch (reason) {
        const error = toRequestError(reason);
        if (error.status !== 404) {
          throw error;
        }
        this._changesUnsupported.add(instance); // an older server: check everything
      }
    }
    const changed = new Set<string>();
    if (changes !== null) {
      this._since.set(instance, changes.since);
      for (const rule of changes.rules) {
        const seen = JSON.stringify(rule);
        if (this._seenRules.get(rule.id) !== seen) {
          this._seenRules.set(rule.id, seen);
          changed.add(rule.did);
        }
      }
    }
    if (fullDue) {
      this._lastFull.set(instance, Date.now());
      return { dids, changes };
    }
    return {
      dids: dids.filter(did => {
        const key = Private.key(instance, did);
        return (
          changed.has(did) ||
          dirty.has(key) ||
          (this._entries.get(key)?.checked ?? 0) === 0
        );
      }),
      changes
    };
  }

  private _standby(): boolean | Poll.Standby {
    if (this._requested) {
      return 'never';
    }
    if (this._entries.size === 0 && this._rules.size === 0) {
      return true;
    }
    // Transfers are followed (and notified) even when the panel is closed.
    if (this.isActive || this._isPanelVisible()) {
      return 'when-hidden';
    }
    return true;
  }

  private async _check(): Promise<void> {
    this._requested = false;
    const serial = ++this._serial;
    const byInstance = new Map<string, string[]>();
    for (const entry of this._entries.values()) {
      const dids = byInstance.get(entry.instance) ?? [];
      dids.push(entry.did);
      byInstance.set(entry.instance, dids);
    }
    const rulesByInstance = new Set<string>(this._rulesDirty);
    for (const { instance, rule } of this._rules.values()) {
      if (!isSettledRule(rule)) {
        rulesByInstance.add(instance);
      }
    }
    const dirty = new Set(this._dirty);
    this._dirty.clear();
    this._rulesDirty.clear();
    const instances = new Set([...byInstance.keys(), ...rulesByInstance]);

    const changes: IAvailabilityChange[] = [];
    const ruleChanges: { instance: string; rule: IRule }[] = [];
    let failure: DataLakeRequestError | null = null;

    await Promise.all(
      [...instances].map(async instance => {
        try {
          const due = await this._due(
            instance,
            byInstance.get(instance) ?? [],
            dirty
          );
          const dids = due.dids;
          for (
            let start = 0;
            start < dids.length;
            start += MAX_AVAILABILITY_DIDS
          ) {
            const chunk = dids.slice(start, start + MAX_AVAILABILITY_DIDS);
            const items = await this._api.availability(instance, chunk);
            for (const current of items) {
              const entry = this._entries.get(
                Private.key(instance, current.did)
              );
              if (!entry) {
                continue; // unwatched meanwhile
              }
              if (!Private.sameAvailability(entry.availability, current)) {
                changes.push({
                  instance,
                  did: current.did,
                  previous: entry.availability,
                  current
                });
              }
              entry.availability = current;
              entry.checked = serial;
            }
          }
          if (rulesByInstance.has(instance)) {
            // What changed lately is enough: a followed rule that did not change is as it was.
            const mine =
              due.changes?.rules ?? (await this._api.myRules(instance));
            const byId = new Map(mine.map(rule => [rule.id, rule]));
            for (const [id, followed] of this._rules) {
              if (followed.instance !== instance) {
                continue;
              }
              const rule = byId.get(id);
              if (
                rule &&
                JSON.stringify(rule) !== JSON.stringify(followed.rule)
              ) {
                followed.rule = rule;
                ruleChanges.push({ instance, rule });
              }
            }
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
  private _changesOnly: boolean;
  private _changesUnsupported = new Set<string>();
  private _dirty = new Set<string>();
  private _events: EventsModel | null;
  private _lastFull = new Map<string, number>();
  private _rulesDirty = new Set<string>();
  private _seenRules = new Map<string, string>();
  private _since = new Map<string, string | null>();
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
  private _rules = new Map<string, { instance: string; rule: IRule }>();
  private _rulesChanged = new Signal<this, { instance: string; rule: IRule }[]>(
    this
  );
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

namespace Private {
  export function key(instance: string, did: string): string {
    return `${instance}\u0000${did}`;
  }

  export function sameAvailability(
    a: IAvailability | null,
    b: IAvailability
  ): boolean {
    return (
      a !== null &&
      a.state === b.state &&
      a.files.total === b.files.total &&
      a.files.at_notebook === b.files.at_notebook &&
      a.files.replicating === b.files.replicating &&
      a.bytes.at_notebook === b.bytes.at_notebook &&
      (a.reason ?? null) === (b.reason ?? null)
    );
  }
}
