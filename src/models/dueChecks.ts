/**
 * Which watched DIDs of an instance a tick of the watch poll checks. With
 * change-only checks, a tick first asks `GET instances/{i}/changes` for the
 * account's rules updated since the last tick and checks only the DIDs those
 * rules are on, the DIDs an event named and those never checked; every DID
 * is still checked now and then (replicas of other accounts' rules).
 */
import { DataLakeAPI } from '../api/client';
import { toRequestError } from '../api/request';
import { IRuleChanges } from '../api/types';

/** With change-only checks, every watched DID is still checked this often (replicas of other accounts' rules). */
export const FULL_CHECK_MS = 60 * 1000;
/** ... and this often while events arrive. */
export const LIVE_FULL_CHECK_MS = 5 * 60 * 1000;

export class DueChecks {
  constructor(options: DueChecks.IOptions) {
    this._api = options.api;
    this._changesOnly = options.changesOnly;
    this._isLive = options.isLive;
  }

  /**
   * The DIDs of `dids` to check at `instance` in this tick, and the rules
   * its changes reported (null without a change-only check).
   *
   * @param mustCheck - Whether a DID is checked whatever changed (an event named it, never checked).
   */
  async due(
    instance: string,
    dids: string[],
    mustCheck: (did: string) => boolean
  ): Promise<{ dids: string[]; changes: IRuleChanges | null }> {
    const live = this._isLive(instance);
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
      dids: dids.filter(did => changed.has(did) || mustCheck(did)),
      changes
    };
  }

  /** Check every DID of an instance at its next tick (e.g. its event stream came or went). */
  checkAllNext(instance: string): void {
    this._lastFull.delete(instance);
  }

  private _api: DataLakeAPI;
  private _changesOnly: boolean;
  private _changesUnsupported = new Set<string>();
  private _isLive: (instance: string) => boolean;
  private _lastFull = new Map<string, number>();
  private _seenRules = new Map<string, string>();
  private _since = new Map<string, string | null>();
}

export namespace DueChecks {
  export interface IOptions {
    api: DataLakeAPI;
    /** Check only the DIDs whose rules changed since the last tick (and all of them now and then). */
    changesOnly: boolean;
    /** Whether Rucio's events arrive for an instance (every DID is then checked less often). */
    isLive: (instance: string) => boolean;
  }
}
