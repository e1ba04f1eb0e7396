/**
 * Small helpers shared by the engine integration tests (not a spec file).
 */
import { expect } from 'chai';
import { resumeHook, type HookInfo, type Run, type WorkflowEvent } from 'workflow-redis/api';
import { waitFor } from '../helpers/redis.js';
import type { Store } from '../../lib/redis/store.js';
import { ExecutionCache } from '../../lib/worker/execution-cache.js';
import type { ReplayContext } from '../../lib/worker/context.js';
import type { Route } from '../../lib/domain/route.js';

/**
 * A replay context for driving processReplayJob directly (no BullMQ worker) on
 * runs of `route` (a workflow handle will do): one inline step, no commit window.
 */
export function testReplayContext(store: Store, route: Route, overrides: Partial<ReplayContext> = {}): ReplayContext {
  return {
    route,
    store,
    cache: new ExecutionCache(10),
    workerId: 'test-worker',
    leaseMs: 10_000,
    inlineLimit: 1,
    publicUrl: 'http://localhost',
    log: () => undefined,
    ...overrides,
  };
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (v: T) => void;
}

/** A promise with its resolve function exposed (to block and release steps). */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Resumes `token` as soon as its hook is registered (hooks register when the
 * workflow suspends): retries while resumeHook rejects with HookNotFoundError.
 */
export async function resumeWhenReady(token: string, payload: unknown, what = `hook ${token}`): Promise<HookInfo> {
  const info = await waitFor(
    async () => {
      try {
        return await resumeHook(token, payload);
      } catch (err) {
        if ((err as Error).name === 'HookNotFoundError') return undefined;
        throw err;
      }
    },
    { what },
  );
  return info!;
}

/** Awaits `p`, expecting a rejection whose `name` is `name`; returns the error. */
export async function expectRejection<E = Error>(p: Promise<unknown>, name: string): Promise<E> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    expect((err as Error)?.name, `rejected with ${(err as Error)?.name}: ${(err as Error)?.message}`).to.equal(name);
    return err as E;
  }
  expect.fail(`expected a rejection with ${name}, but it resolved with ${JSON.stringify(value)}`);
}

/** Runs `fn`, expecting it to throw (sync or async) an error whose `name` is `name`. */
export async function expectThrow<E = Error>(fn: () => unknown, name: string): Promise<E> {
  return expectRejection<E>(Promise.resolve().then(fn), name);
}

/** The log lines of steps 1..n each created, started and completed once, in order. */
export function stepLines(n: number): string[] {
  return Array.from({ length: n }, (_, k) => k + 1).flatMap((i) => [`step_created step_${i}`, `step_started step_${i}`, `step_completed step_${i}`]);
}

/** `type correlationId` lines of a run's log, for readable sequence assertions. */
export async function eventLines(run: Run<unknown>): Promise<string[]> {
  return (await run.events({ limit: 10_000 })).map((e) => (e.correlationId ? `${e.type} ${e.correlationId}` : e.type));
}

/** Waits until the run's log holds an event matching `pred`; returns the log. */
export async function waitForEvent(run: Run<unknown>, pred: (e: WorkflowEvent) => boolean, what: string): Promise<WorkflowEvent[]> {
  const events = await waitFor(
    async () => {
      const evs = await run.events();
      return evs.some(pred) ? evs : undefined;
    },
    { what },
  );
  return events!;
}

/**
 * Waits until the run ends, or until `wentOn()` turns true (the run went on
 * where it should have stopped) — so a missing failure fails fast instead of
 * timing out. Returns how it ended.
 */
export async function outcomeOrProgress(
  run: Run<unknown>,
  wentOn: () => Promise<unknown>,
  timeoutMs = 15_000,
): Promise<{ kind: 'completed'; value: unknown } | { kind: 'rejected'; error: Error & Record<string, any> } | { kind: 'went-on' }> {
  let done = false;
  const ended = run.returnValue.then(
    (value) => ({ kind: 'completed' as const, value }),
    (error) => ({ kind: 'rejected' as const, error }),
  );
  const poll = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!done && Date.now() < deadline) {
      try {
        if (await wentOn()) return { kind: 'went-on' as const };
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return new Promise<never>(() => undefined);
  })();
  try {
    return await Promise.race([ended, poll]);
  } finally {
    done = true;
  }
}
