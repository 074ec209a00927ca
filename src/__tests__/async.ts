/** Waiting helpers for tests on real timers. */

/** Let pending promises and zero-delay timers run. */
export async function flush(ms = 0): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms));
}

/** Wait (up to about a second) until `check` holds. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) {
      return;
    }
    await flush(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}
