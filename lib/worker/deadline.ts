/**
 * Deadlines checked by one shared ticker: the commit window of every replay
 * in flight (drive.ts) closes on a deadline, and a timer each costs more
 * than the steps they watch.
 */

/** How often the ticker checks the deadlines: a deadline fires at most this late. */
export const TICK_MS = 5;

const deadlines = new Set<{ at: number; fire: () => void }>();
let ticker: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  const now = performance.now();
  for (const d of deadlines) {
    if (d.at <= now) {
      deadlines.delete(d);
      d.fire();
    }
  }
  if (deadlines.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** Calls `fire` once `performance.now()` reaches `at` (give or take {@link TICK_MS}), unless cancelled first. */
export function onDeadline(at: number, fire: () => void): { cancel(): void } {
  const d = { at, fire };
  deadlines.add(d);
  ticker ??= setInterval(tick, TICK_MS).unref();
  return { cancel: () => deadlines.delete(d) };
}
