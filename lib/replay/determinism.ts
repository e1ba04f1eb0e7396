/**
 * Deterministic time and randomness inside workflow code. Without a sandbox we
 * patch `Date` and `Math.random` once per worker process; the patched versions
 * consult AsyncLocalStorage and only change behaviour inside a workflow's
 * execution: `Date.now()` / `new Date()` return the time of the last consumed
 * event (the run's start, then each event's server timestamp, as the official
 * SDK does) and `Math.random()` draws from a PRNG seeded by the run.
 * `setTimeout()` / `setInterval()` throw inside workflow code (a real timer
 * would not survive a replay: use `sleep()`), as in the official SDK's sandbox.
 * Everywhere else (BullMQ, ioredis, steps, the app) they are untouched.
 */
import { UnavailableInWorkflowError } from '../errors/errors.js';
import { workflowStorage } from './context.js';

const RealDate = Date;
const realRandom = Math.random;
let installed = false;

/** The real clock, whatever the patches do. */
export const realNow = (): number => RealDate.now();

/** Installs the patches (idempotent). Called by createWorker. */
export function installDeterminism(): void {
  if (installed) return;
  installed = true;
  const WorkflowDate = function (this: unknown, ...args: unknown[]) {
    const ex = workflowStorage.getStore();
    if (!new.target) return ex ? new RealDate(ex.now()).toString() : RealDate();
    if (args.length === 0 && ex) return Reflect.construct(RealDate, [ex.now()], new.target);
    return Reflect.construct(RealDate, args, new.target);
  } as unknown as DateConstructor;
  // Same prototype: every Date, old or new, is `instanceof Date` both ways.
  (WorkflowDate as { prototype: Date }).prototype = RealDate.prototype;
  Object.setPrototypeOf(WorkflowDate, RealDate);
  (WorkflowDate as { now: () => number }).now = () => {
    const ex = workflowStorage.getStore();
    return ex ? ex.now() : RealDate.now();
  };
  globalThis.Date = WorkflowDate;
  Math.random = () => {
    const ex = workflowStorage.getStore();
    return ex ? ex.random() : realRandom();
  };
  globalThis.setTimeout = refuseInWorkflow(globalThis.setTimeout, 'setTimeout');
  globalThis.setInterval = refuseInWorkflow(globalThis.setInterval, 'setInterval');
}

/** `timer` unchanged outside workflow code; inside, an error that says what to use instead. */
function refuseInWorkflow<F extends (...args: any[]) => any>(timer: F, name: string): F {
  const guarded = function (this: unknown, ...args: unknown[]) {
    if (workflowStorage.getStore()) {
      throw new UnavailableInWorkflowError(
        `${name}() is not available in workflow code: its timer would not survive a replay. ` +
          "Use sleep('1s') from workflow-redis to wait durably, or do the timed work in a step.",
      );
    }
    return timer.apply(this, args);
  };
  // Keep what hangs off the original (util.promisify.custom, ...).
  Object.defineProperties(guarded, Object.getOwnPropertyDescriptors(timer));
  return guarded as unknown as F;
}

/** A small seeded PRNG (sfc32) with a string seed hashed by cyrb128. */
export function seededRandom(seed: string): () => number {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  let a = (h1 ^ h2 ^ h3 ^ h4) >>> 0, b = (h2 ^ h1) >>> 0, c = (h3 ^ h1) >>> 0, d = (h4 ^ h1) >>> 0;
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
}
