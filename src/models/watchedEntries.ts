/**
 * The DIDs the watch keeps an eye on: their entries, how an entry is keyed,
 * what of them survives a page reload, and the bulk check of their availability.
 */
import { DataLakeAPI, MAX_AVAILABILITY_DIDS } from '../api/client';
import { IAvailability } from '../api/types';

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

/** The key of a DID at an instance in the watch's maps. */
export function watchKey(instance: string, did: string): string {
  return `${instance}\u0000${did}`;
}

/** The entry of a DID watched from now on (or since `addedAt`), not checked yet. */
export function newEntry(
  instance: string,
  did: string,
  availability: IAvailability | null,
  addedAt?: unknown
): IWatchedEntry {
  return {
    instance,
    did,
    availability,
    addedAt: typeof addedAt === 'number' ? addedAt : Date.now(),
    checked: 0
  };
}

/** What survives a reload of the entries. */
export function watchedState(entries: IWatchedEntry[]): IWatchedState {
  return {
    dids: entries.map(({ instance, did, addedAt }) => ({
      instance,
      did,
      addedAt
    }))
  };
}

/** The entries a saved state names (availability to be checked anew); what cannot be read is left out. */
export function entriesOfState(
  state: IWatchedState | null | undefined
): IWatchedEntry[] {
  if (!state || !Array.isArray(state.dids)) {
    return [];
  }
  return state.dids
    .filter(
      item => typeof item?.instance === 'string' && typeof item.did === 'string'
    )
    .map(item => newEntry(item.instance, item.did, null, item.addedAt));
}

/**
 * Ask the availability of some DIDs of an instance, in bulk requests of at
 * most MAX_AVAILABILITY_DIDS, and write it into their entries (marked with
 * `serial`); the changes seen. A DID unwatched meanwhile is left out.
 */
export async function checkAvailability(
  api: DataLakeAPI,
  instance: string,
  dids: string[],
  entries: Map<string, IWatchedEntry>,
  serial: number
): Promise<IAvailabilityChange[]> {
  const changes: IAvailabilityChange[] = [];
  for (let start = 0; start < dids.length; start += MAX_AVAILABILITY_DIDS) {
    const chunk = dids.slice(start, start + MAX_AVAILABILITY_DIDS);
    const items = await api.availability(instance, chunk);
    for (const current of items) {
      const entry = entries.get(watchKey(instance, current.did));
      if (!entry) {
        continue; // unwatched meanwhile
      }
      if (!sameAvailability(entry.availability, current)) {
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
  return changes;
}

/** Whether an availability is the same as far as the user can tell. */
function sameAvailability(a: IAvailability | null, b: IAvailability): boolean {
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

/** The watched DIDs of each instance. */
export function didsByInstance(
  entries: Iterable<IWatchedEntry>
): Map<string, string[]> {
  const byInstance = new Map<string, string[]>();
  for (const entry of entries) {
    const dids = byInstance.get(entry.instance) ?? [];
    dids.push(entry.did);
    byInstance.set(entry.instance, dids);
  }
  return byInstance;
}
