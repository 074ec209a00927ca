/**
 * "Make all available" of a list of DIDs (a notebook's attachments, the
 * ESAP basket): one rule each through the panel's transfers.
 */
import { toRequestError } from '../api/request';
import { IAvailability, ITarget } from '../api/types';
import type { DataLakeModel } from './datalake';

/** How "make all available" went. */
export interface IMakeAllResult {
  started: string[];
  failed: {
    did: string;
    message: string;
    /** No transfer was started, so no transfer notification tells of it. */
    unreported?: true;
  }[];
}

/**
 * Make each DID available at `target`, one rule each, through the panel's
 * transfers (which notify their progress and Rucio's refusals). A refusal of
 * one does not stop the others.
 */
export async function makeEachAvailable(
  lake: DataLakeModel,
  entries: { did: string; instance: string }[],
  target: ITarget,
  lifetimeDays: number
): Promise<IMakeAllResult> {
  const result: IMakeAllResult = { started: [], failed: [] };
  for (const entry of entries) {
    try {
      const transfer = await lake.makeAvailable({
        did: entry.did,
        instance: entry.instance,
        target,
        lifetimeDays
      });
      if (transfer.error) {
        result.failed.push({ did: entry.did, message: transfer.error.message });
      } else {
        result.started.push(entry.did);
      }
    } catch (reason) {
      result.failed.push({
        did: entry.did,
        message: toRequestError(reason).message,
        unreported: true
      });
    }
  }
  return result;
}

/** What "make all available" would move, from the watch poll's latest availability. */
export interface IPendingTotals<T> {
  /** The entries counted. */
  count: number;
  /** Those not known to be fully at the notebook (their availability unknown included). */
  pending: T[];
  /** Of all entries, those whose availability is not known yet. */
  unknownAvailability: number;
  /** Sum of the sizes of all entries, of those whose size is known. */
  bytes: number;
  /** Of all entries, the bytes at the notebook already. */
  bytesAtNotebook: number;
  /** Bytes the pending ones would copy at most (what is at the notebook already left out). */
  bytesToCopy: number;
  /** Of the pending, those whose size is not known. */
  unknownSizes: number;
}

/**
 * Count what "make all available" would still copy to the notebook. The
 * size of an entry comes from `sizeOf` (the availability's total for
 * attachments, the basket item's own size for the basket); null when unknown.
 */
export function pendingTotals<T extends { availability: IAvailability | null }>(
  entries: readonly T[],
  sizeOf: (entry: T) => number | null
): IPendingTotals<T> {
  const totals: IPendingTotals<T> = {
    count: entries.length,
    pending: [],
    unknownAvailability: 0,
    bytes: 0,
    bytesAtNotebook: 0,
    bytesToCopy: 0,
    unknownSizes: 0
  };
  for (const entry of entries) {
    const availability = entry.availability;
    const size = sizeOf(entry);
    const atNotebook = availability?.bytes.at_notebook ?? 0;
    if (availability === null) {
      totals.unknownAvailability++;
    }
    if (size !== null) {
      totals.bytes += size;
    }
    totals.bytesAtNotebook += atNotebook;
    if (availability?.state === 'AVAILABLE') {
      continue;
    }
    totals.pending.push(entry);
    if (size === null) {
      totals.unknownSizes++;
    } else {
      totals.bytesToCopy += Math.max(0, size - atNotebook);
    }
  }
  return totals;
}
