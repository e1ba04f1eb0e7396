/**
 * The workflow code the recorded logs in fixtures/ were made with (not a spec
 * file). record-fixtures.ts runs these once on a real worker; the replay
 * tests replay the recorded logs against them, without Redis.
 *
 * Keep these bodies as they are: a recorded log is only meaningful against
 * the code that made it. Changing a workflow here means re-recording its
 * fixture (see record-fixtures.ts), and says nothing about compatibility.
 */
import { createHook, defineStep, defineWorkflow, FatalError, getStepMetadata, RetryableError, sleep } from 'workflow-redis';

export const P = 'replay-fx';

export const add = defineStep(`${P}.add`, async (a: number, b: number) => a + b);
export const double = defineStep(`${P}.double`, async (n: number) => n * 2);
export const label = defineStep(`${P}.label`, async (id: string, n: number) => `${id}:${n}`);

/** Three inline steps in a row; the output also carries what the workflow clock and PRNG gave. */
export const threeSteps = defineWorkflow(`${P}.three-steps`, async (orderId: string) => {
  const t0 = Date.now();
  const r1 = Math.random();
  const a = await add(1, 2);
  const t1 = Date.now();
  const b = await double(a);
  const c = await label(orderId, b);
  return { a, b, c, t0, t1, t2: new Date().getTime(), r1, r2: Math.random() };
});

export const sum = defineStep(`${P}.sum`, async (xs: number[]) => xs.reduce((s, x) => s + x, 0));

/** A hook with two payloads read by for-await, then a step. */
export const hookTwoPayloads = defineWorkflow(`${P}.hook-two-payloads`, async (token: string) => {
  const hook = createHook<{ n: number }>({ token });
  const got: number[] = [];
  for await (const p of hook) {
    got.push(p.n);
    if (got.length === 2) break;
  }
  hook.dispose();
  const total = await sum(got);
  return { got, total };
});

/** A durable sleep, with the workflow clock before and after it. */
export const napper = defineWorkflow(`${P}.sleep`, async (ms: number) => {
  const before = Date.now();
  await sleep(ms);
  const after = Date.now();
  return { before, after };
});

/** Promise.race of a hook (random token: the replay must adopt the recorded one) and a sleep. */
export const hookOrSleep = defineWorkflow(`${P}.race`, async (ms: number) => {
  const hook = createHook<{ v: string }>();
  const winner = await Promise.race([
    hook.then((p) => ({ by: 'hook' as const, p, at: Date.now() })),
    sleep(ms).then(() => ({ by: 'sleep' as const, at: Date.now() })),
  ]);
  hook.dispose();
  return { winner, token: hook.token };
});

export const note = defineStep(`${P}.note`, async (s: string) => s);

/**
 * Hook generations: a race whose sleep wins leaves a claim on hook_1 behind;
 * the next `await h1` must get the payload. hook_1 is then disposed and,
 * after a suspension point (the step) records that, hook_2 takes the same token.
 */
export const hookGenerations = defineWorkflow(`${P}.hook-generations`, async (token: string) => {
  const h1 = createHook<string>({ token });
  const first = await Promise.race([h1.then((p) => ({ p })), sleep(150).then(() => 'timeout' as const)]);
  const second = await h1;
  h1.dispose();
  const noted = await note(`hook_1 got ${second}`);
  const h2 = createHook<string>({ token });
  const third = await h2;
  h2.dispose();
  return { first, second, noted, third };
});

/** Fails twice (RetryableError, 20 ms), then succeeds on the third attempt. */
export const flaky = defineStep(
  `${P}.flaky`,
  async (x: number) => {
    const { attempt } = getStepMetadata();
    if (attempt < 3) throw new RetryableError(`attempt ${attempt} failed`, { retryAfter: 20 });
    return { x, attempt };
  },
  { maxRetries: 3 },
);

export const stepRetry = defineWorkflow(`${P}.step-retry`, async (x: number) => {
  const r = await flaky(x);
  return { r };
});

export const charge = defineStep(`${P}.charge`, async (amount: number): Promise<string> => {
  throw new FatalError(`card declined for ${amount}`);
});
export const refund = defineStep(`${P}.refund`, async (amount: number) => `refunded ${amount}`);

/** A fatal step failure, caught, compensated, and rethrown: the run fails. */
export const failing = defineWorkflow(`${P}.fails`, async (amount: number) => {
  try {
    await charge(amount);
  } catch (err) {
    const r = await refund(amount);
    throw new Error(`order failed (${(err as Error).message}; ${r})`, { cause: err });
  }
  return 'unreachable';
});

export const square = defineStep(`${P}.square`, async (n: number) => {
  // Uneven durations, so that results come back out of call order.
  await new Promise((r) => setTimeout(r, (5 - n) * 15));
  return n * n;
});

/** Parallel steps (queued: more than one at once); `order` is the order they settled in. */
export const parallel = defineWorkflow(`${P}.parallel`, async (ns: number[]) => {
  const order: number[] = [];
  const results = await Promise.all(
    ns.map((n) =>
      square(n).then((v) => {
        order.push(n);
        return v;
      }),
    ),
  );
  return { results, order };
});

export const ALL_WORKFLOWS = [threeSteps, hookTwoPayloads, napper, hookOrSleep, hookGenerations, stepRetry, failing, parallel];
