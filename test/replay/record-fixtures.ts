/**
 * Records the event logs in test/replay/fixtures/ (not a spec file): starts a
 * private redis-server, runs each workflow of _workflows.ts once on a real
 * worker (default options: one inline step, 100 ms commit window), and dumps
 * each run's log as the store returns it (`store.readAllEvents(runId)`: the
 * StoredEvent form the replay engine consumes), with the run record fields a
 * replay needs (input, startedAt) and its outcome (output or error).
 *
 *   node --import tsx test/replay/record-fixtures.ts            # all fixtures
 *   node --import tsx test/replay/record-fixtures.ts race-sleep-wins sleep
 *
 * Re-record only on purpose: the fixtures are a compatibility guard, and the
 * point is that logs recorded by older code keep replaying.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeWorkflowClient, configure, getRun, start } from 'workflow-redis/api';
import { createWorker } from 'workflow-redis/worker';
import type { Workflow } from 'workflow-redis';
import { getStore } from '../../lib/runtime/config.js';
import type { StoredEvent } from '../../lib/redis/store-types.js';
import { deserialize } from '../../lib/serialization/codec.js';
import { resumeWhenReady } from '../engine/_util.js';
import { startRedis, uniquePrefix, waitFor } from '../helpers/redis.js';
import type { Fixture } from './_harness.js';
import * as W from './_workflows.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const outDir = join(here, 'fixtures');

interface Scenario {
  name: string;
  description: string;
  workflow: Workflow;
  args: unknown[];
  /** What happens from outside while the run goes (resumes); resolves once the run is where it should be recorded. */
  drive?: (runId: string) => Promise<void>;
  /** The run is left suspended (recorded while it waits). */
  suspended?: boolean;
}

const events = async (runId: string): Promise<StoredEvent[]> => (await getStore()).readAllEvents(runId);

/** Waits until the log holds an event matching `pred`; returns it. */
async function eventOf(runId: string, pred: (e: StoredEvent) => boolean, what: string): Promise<StoredEvent> {
  return (await waitFor(async () => (await events(runId)).find(pred), { what, timeoutMs: 20_000 }))!;
}


/** Waits until the run is quiescent: finished, or every event consumed by a released replay; and the log unchanged for a while. */
async function quiescent(runId: string): Promise<void> {
  const store = await getStore();
  let last = '';
  let stableSince = Date.now();
  await waitFor(
    async () => {
      const evs = await events(runId);
      const tail = evs[evs.length - 1]?.eventId ?? '';
      if (tail !== last) {
        last = tail;
        stableSince = Date.now();
        return false;
      }
      const run = await store.getRun(runId);
      // A finished run's hash keeps no `seen`; a suspended one's is the last event the release consumed.
      return (run?.status !== 'running' || run.seen === tail) && Date.now() - stableSince > 400;
    },
    { what: `run ${runId} to be quiescent`, timeoutMs: 20_000, intervalMs: 50 },
  );
}

const tokenOf = (e: StoredEvent) => deserialize<{ token: string }>(e.data).token;

const scenarios: Scenario[] = [
  {
    name: 'three-steps',
    description: 'Three inline steps in a row (run in the commit window); the output records Date.now(), new Date() and Math.random() seen by the code.',
    workflow: W.threeSteps,
    args: ['order-7'],
  },
  {
    name: 'hook-two-payloads',
    description: 'createHook with a custom token, two payloads read with for-await, dispose, then a step.',
    workflow: W.hookTwoPayloads,
    args: ['fixture:hook-two-payloads'],
    drive: async () => {
      await resumeWhenReady('fixture:hook-two-payloads', { n: 1 });
      await resumeWhenReady('fixture:hook-two-payloads', { n: 2 });
    },
  },
  {
    name: 'hook-suspended',
    description: 'The same for-await workflow after one payload of two: suspended on the hook.',
    workflow: W.hookTwoPayloads,
    args: ['fixture:hook-suspended'],
    suspended: true,
    drive: async (runId) => {
      await resumeWhenReady('fixture:hook-suspended', { n: 40 });
      await eventOf(runId, (e) => e.type === 'hook_received', 'the payload');
      await quiescent(runId);
    },
  },
  {
    name: 'sleep',
    description: "sleep(200): wait_created, the timer's wait_completed, and the workflow clock before and after.",
    workflow: W.napper,
    args: [200],
  },
  {
    name: 'sleep-suspended',
    description: 'sleep of one hour, recorded while it waits.',
    workflow: W.napper,
    args: [3_600_000],
    suspended: true,
    drive: async (runId) => {
      await eventOf(runId, (e) => e.type === 'wait_created', 'the sleep');
      await quiescent(runId);
    },
  },
  {
    name: 'race-hook-wins',
    description: 'Promise.race([hook, sleep(1h)]) with a random token: the payload wins.',
    workflow: W.hookOrSleep,
    args: [3_600_000],
    drive: async (runId) => {
      const created = await eventOf(runId, (e) => e.type === 'hook_created', 'the hook');
      await resumeWhenReady(tokenOf(created), { v: 'first!' });
    },
  },
  {
    name: 'race-sleep-wins',
    description: 'Promise.race([hook, sleep(150)]) with a random token and no payload: the sleep wins.',
    workflow: W.hookOrSleep,
    args: [150],
  },
  {
    name: 'hook-generations',
    description:
      'A race on hook_1 lost to a sleep, then `await h1` gets the payload (not the stale claim); hook_1 disposed, a step, then hook_2 with the same token.',
    workflow: W.hookGenerations,
    args: ['fixture:generations'],
    drive: async (runId) => {
      await eventOf(runId, (e) => e.type === 'wait_completed', 'the sleep to win the race');
      await resumeWhenReady('fixture:generations', 'a');
      await eventOf(runId, (e) => e.type === 'hook_created' && e.correlationId === 'hook_2', 'hook_2');
      await resumeWhenReady('fixture:generations', 'b');
    },
  },
  {
    name: 'step-retry',
    description: 'A step that throws RetryableError (retryAfter 20 ms) on attempts 1 and 2 and succeeds on attempt 3.',
    workflow: W.stepRetry,
    args: [21],
  },
  {
    name: 'fails',
    description: 'A step fails with FatalError; the workflow catches it, runs a compensation step and throws: the run fails.',
    workflow: W.failing,
    args: [99],
  },
  {
    name: 'parallel',
    description: 'Promise.all of four steps (queued: more than inlineSteps at once); results settle out of call order.',
    workflow: W.parallel,
    args: [[1, 2, 3, 4]],
  },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const chosen = only.length > 0 ? scenarios.filter((s) => only.includes(s.name)) : scenarios;
  if (chosen.length === 0) throw new Error(`no such fixture: ${only.join(', ')} (known: ${scenarios.map((s) => s.name).join(', ')})`);
  const redis = await startRedis();
  const prefix = uniquePrefix('replay-fx');
  configure({ connection: redis.url, prefix });
  const worker = await createWorker({ workflows: W.ALL_WORKFLOWS, connection: redis.url, prefix, logger: () => undefined });
  mkdirSync(outDir, { recursive: true });
  try {
    for (const s of chosen) {
      const runId = `wrun_fixture_${s.name.replace(/-/g, '_')}`;
      const run = await start(s.workflow, s.args as never, { runId });
      const settled = run.returnValue.then(
        () => undefined,
        () => undefined,
      );
      await s.drive?.(runId);
      if (!s.suspended) await settled;
      await quiescent(runId);
      const store = await getStore();
      const rec = (await store.getRun(runId))!;
      const fixture: Fixture = {
        name: s.name,
        description: s.description,
        runId,
        workflowName: rec.workflowName,
        input: rec.input!,
        startedAt: rec.startedAt!,
        status: rec.status as Fixture['status'],
        ...(rec.output !== undefined ? { output: rec.output } : {}),
        ...(rec.error !== undefined ? { error: rec.error } : {}),
        recordedAt: Date.now(),
        events: await events(runId),
      };
      if (s.suspended ? fixture.status !== 'running' : fixture.status === 'running') {
        throw new Error(`${s.name}: unexpected status ${fixture.status}`);
      }
      // Stack traces in step errors name files of this checkout: keep them relative.
      const text = JSON.stringify(fixture, null, 2).split(repoRoot).join('<repo>') + '\n';
      writeFileSync(join(outDir, `${s.name}.json`), text);
      console.log(`${s.name}: ${fixture.status}, ${fixture.events.length} events (${await getRun(runId).status})`);
    }
  } finally {
    await worker.close();
    await closeWorkflowClient();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
