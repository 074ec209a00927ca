import { IPoll, Poll } from '@lumino/polling';

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

/** While Rucio's events arrive, the watch poll is only a safety net: at most once a minute. */
export const LIVE_POLL_SECONDS = 60;

/**
 * The watch poll's frequency: the transfer interval (when shorter) while
 * something is on its way, the normal interval otherwise; at least
 * LIVE_POLL_SECONDS while Rucio's events arrive for every followed instance.
 */
export function watchFrequency(
  intervals: { pollInterval: number; transferPollInterval: number },
  options: { active: boolean; allLive: boolean }
): IPoll.Frequency {
  const interval = options.active
    ? Math.min(intervals.transferPollInterval, intervals.pollInterval)
    : intervals.pollInterval;
  return backoffFrequency(
    options.allLive ? Math.max(interval, LIVE_POLL_SECONDS) : interval
  );
}

/**
 * Whether the watch poll stands by: never right after a refresh was asked
 * for; always with nothing watched or followed; when the page is hidden
 * while something is on its way (transfers are followed and notified even
 * with the panel closed) or the panel is shown; else always.
 */
export function watchStandby(state: {
  requested: boolean;
  empty: boolean;
  active: boolean;
  panelVisible: boolean;
}): boolean | Poll.Standby {
  if (state.requested) {
    return 'never';
  }
  if (state.empty) {
    return true;
  }
  return state.active || state.panelVisible ? 'when-hidden' : true;
}
