import { IPoll } from '@lumino/polling';

/** Longest wait between two checks of a poll while they keep failing. */
export const MAX_BACKOFF_MS = 5 * 60 * 1000;

/**
 * The `Poll` frequency for an interval in seconds (at least 1): one check
 * per interval, the wait growing after each failure up to MAX_BACKOFF_MS.
 */
export function backoffFrequency(seconds: number): IPoll.Frequency {
  const interval = Math.max(1, seconds) * 1000;
  return {
    interval,
    backoff: true,
    max: Math.max(interval, MAX_BACKOFF_MS)
  };
}
