/**
 * "Make all available" of a list of DIDs (a notebook's attachments, the
 * ESAP basket): one rule each through the panel's transfers.
 */
import { toRequestError } from '../api/request';
import { ITarget } from '../api/types';
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
