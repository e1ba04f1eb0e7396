/**
 * The contract with BullMQ (lib/queue/bullmq-contract.ts): the pinned version,
 * the captured addStandardJob template, the shape of the jobs our scripts add,
 * and ARCHITECTURE §4's no-lost-wake-up rule: a resume that lands while the run's job
 * is active produces a follow-up replay after it.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { pack, unpack } from 'msgpackr';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { configure, closeWorkflowClient, resumeHook } from 'workflow-redis/api';
import {
  BULLMQ_TESTED_VERSION,
  bullAddStandardJobLua,
  captureReplayJobTemplate,
  checkBullmqContract,
  RUN_ID_PLACEHOLDER,
  replayJobLua,
  type ReplayJobTemplate,
} from '../../lib/queue/bullmq-contract.js';
import { QUEUE_NAMES, QUEUE_SLOT } from '../../lib/redis/keys.js';
import type { Store } from '../../lib/redis/store.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { claimHook, createTestRun, pendingJobsOf, receivedPayloads, replayQueueOf, settledStore, startWorkflowWorker } from './helpers.js';

const readJson = (rel: string) => JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));

/** A gate a processor waits on until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('bullmq contract', function () {
  describe('version pin', function () {
    it('the installed bullmq is BULLMQ_TESTED_VERSION, pinned exactly in package.json', function () {
      const installed = readJson('../../node_modules/bullmq/package.json').version as string;
      const pinned = readJson('../../package.json').dependencies.bullmq as string;
      expect(pinned, 'package.json pins an exact version (no range)').to.match(/^\d+\.\d+\.\d+$/);
      expect(installed).to.equal(BULLMQ_TESTED_VERSION);
      expect(pinned).to.equal(BULLMQ_TESTED_VERSION);
    });

    it('the lockfile resolves the same version', function () {
      const lock = readJson('../../package-lock.json');
      expect(lock.packages?.['node_modules/bullmq']?.version).to.equal(BULLMQ_TESTED_VERSION);
    });

    it("BullMQ's addStandardJob is wrapped as a local Lua function", function () {
      const lua = bullAddStandardJobLua();
      expect(lua.startsWith('local function bullAddStandardJob(KEYS, ARGV)\n')).to.equal(true);
      expect(lua.trimEnd().endsWith('end')).to.equal(true);
      expect(lua).to.include('cmsgpack.unpack(ARGV[1])');
    });
  });

  describe('against a real Redis', function () {
    let redis: TestRedis;
    let store: Store;

    before(async function () {
      redis = await startRedis();
    });

    after(async function () {
      await closeWorkflowClient();
      await redis?.stop();
    });

    beforeEach(async function () {
      configure({ connection: redis.url, prefix: uniquePrefix('bull') });
      store = await settledStore();
    });

    afterEach(async function () {
      await closeWorkflowClient();
    });

    /** The template, captured from a queue named by the slot as Store.open does. */
    async function template(): Promise<ReplayJobTemplate> {
      const slot = new Queue(QUEUE_SLOT, { connection: store.client as Redis, prefix: store.keys.bullPrefix, skipMetasUpdate: true });
      try {
        await checkBullmqContract(slot);
        return await captureReplayJobTemplate(slot);
      } finally {
        await slot.close();
      }
    }

    it('captureReplayJobTemplate cuts the 9 queue keys and the job around the queue name, the run id and the timestamp', async function () {
      const tpl = await template();
      const route = { workflowName: 'billing:invoice', version: '2' };
      const name = QUEUE_NAMES.replays(route);
      expect(name, 'no colon in a BullMQ queue name').to.equal('workflows/billing%3Ainvoice@2');
      const q = store.queues(route).replays.keys;
      expect(tpl.keys.map(([h, t]) => `${h}${name}${t}`)).to.deep.equal([q.wait, q.paused, q.meta, q.id, q.completed, q.delayed, q.active, q.events, q.marker]);
      expect(JSON.parse(`${tpl.data[0]}${RUN_ID_PLACEHOLDER}${tpl.data[1]}`)).to.deep.equal({ runId: RUN_ID_PLACEHOLDER });
      // Joined again with a queue, a run id and a timestamp, the parts are the job BullMQ would add to that queue.
      const runId = 'wrun_contract_check';
      const ts = Date.now();
      const dedupKey = `${tpl.dedup[0]}${name}${tpl.dedup[1]}${runId}${tpl.dedup[2]}`;
      expect(dedupKey).to.equal(`${store.keys.bullPrefix}:${name}:de:${runId}`);
      const [x, y] = tpl.order === 'd' ? [pack(dedupKey), pack(ts)] : [pack(ts), pack(dedupKey)];
      const prefix = pack(`${tpl.keyPrefix[0]}${name}${tpl.keyPrefix[1]}`);
      const args = unpack(Buffer.concat([tpl.args[0], prefix, tpl.args[1], x, tpl.args[2], y, tpl.args[3]])) as unknown[];
      expect(args[0]).to.equal(`${store.keys.bullPrefix}:${name}:`);
      expect(args[1], 'no custom job id (keepLastIfActive needs auto ids)').to.be.oneOf(['', null, undefined]);
      expect(args[2]).to.equal('replay');
      expect(args[3], 'the timestamp, server time in Lua').to.equal(ts);
      expect(String(args[8])).to.equal(dedupKey);
      const opts = unpack(Buffer.concat([tpl.opts[0], pack(runId), tpl.opts[1]])) as Record<string, any>;
      expect(opts.de).to.deep.equal({ id: runId, keepLastIfActive: true });
      expect(opts.jobId).to.equal(undefined);
    });

    it('the template is compiled into the scripts byte for byte (every byte value survives the Lua literal)', async function () {
      const tpl = await template();
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const odd = { ...tpl, args: [every, Buffer.from([0x01, 0x35, 0x36, 0x5c, 0x22]), Buffer.alloc(0), tpl.args[3]] as ReplayJobTemplate['args'] };
      const lua = `${replayJobLua(odd)}\nlocal r = {}\nfor _, b in ipairs(REPLAY_JOB.args) do r[#r + 1] = b end\nfor _, b in ipairs(REPLAY_JOB.opts) do r[#r + 1] = b end\nreturn r`;
      const back = (await (store.client as Redis).callBuffer('EVAL', lua, '0')) as Buffer[];
      expect(back.map((b) => b.toString('hex'))).to.deep.equal([...odd.args, ...odd.opts].map((p) => p.toString('hex')));
    });

    /** Processes whatever is queued for the run and waits until nothing is left (dedup key cleared). */
    async function drainRun(runId: string): Promise<string[]> {
      const seen: string[] = [];
      const w = startWorkflowWorker(store, redis.url, async (job) => {
        seen.push(job.data.runId);
      });
      try {
        await waitFor(
          async () => (await pendingJobsOf(store, runId)).length === 0 && (await (await replayQueueOf(store, runId)).getDeduplicationJobId(runId)) === null,
          { what: 'the run to have no queued job' },
        );
      } finally {
        await w.close();
      }
      return seen;
    }

    async function expectReplayJob(job: Job | undefined, runId: string, data: object = { runId }): Promise<void> {
      expect(job, 'the job exists').to.not.equal(undefined);
      expect(job!.name).to.equal('replay');
      expect(job!.data).to.deep.equal(data);
      expect(job!.opts.deduplication).to.deep.equal({ id: runId, keepLastIfActive: true });
      expect(job!.opts.removeOnComplete).to.equal(true);
      expect(job!.opts.attempts).to.equal(10);
      expect(job!.opts.jobId).to.equal(undefined);
      expect(job!.deduplicationId).to.equal(runId);
      expect(job!.timestamp).to.be.within(Date.now() - 60_000, Date.now() + 60_000);
      expect(await job!.getState()).to.equal('waiting');
    }

    it('createRun and resumeHook add real BullMQ jobs: name replay, data { runId } (+ start hint from createRun), deduplication { id: runId, keepLastIfActive }', async function () {
      const runId = await createTestRun(store);
      const token = `bull:${runId}`;
      expect((await claimHook(store, runId, token)).r).to.equal('ok');

      const queue = await replayQueueOf(store, runId);
      const firstId = await queue.getDeduplicationJobId(runId);
      expect(firstId, 'createRun queued a job').to.be.a('string');
      // A new run's first job also carries the start hint (workflow name and input, from the run hash).
      const run = (await store.getRun(runId))!;
      await expectReplayJob(await queue.getJob(firstId!), runId, {
        runId,
        start: { workflowName: run.workflowName, input: run.input },
      });

      // Let a worker take that job so that the next one is created by resumeHook.
      expect(await drainRun(runId)).to.deep.equal([runId]);
      expect(await queue.getJob(firstId!)).to.equal(undefined);

      await resumeHook(token, { go: true });
      const jobs = await pendingJobsOf(store, runId);
      expect(jobs).to.have.length(1);
      const id = await queue.getDeduplicationJobId(runId);
      expect(id).to.equal(jobs[0]!.id);
      expect(id).to.not.equal(firstId);
      await expectReplayJob(await queue.getJob(id!), runId);

      // A second resume while that job waits is merged into it.
      await resumeHook(token, { go: 'again' });
      expect((await pendingJobsOf(store, runId)).map((j) => j.id)).to.deep.equal([id]);
      expect(await receivedPayloads(store, runId)).to.deep.equal([{ go: true }, { go: 'again' }]);
    });

    it('a resume that lands while the run\'s job is active produces a follow-up replay (no lost wake-up)', async function () {
      const runId = await createTestRun(store);
      const token = `wake:${runId}`;
      expect((await claimHook(store, runId, token)).r).to.equal('ok');

      const first = gate();
      const calls: { jobId: string | undefined; runId: string; receivedAtStart: number }[] = [];
      let active = 0;
      let maxActive = 0;
      const w = startWorkflowWorker(store, redis.url, async (job) => {
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          // A replay reads the stream after its job became active.
          const receivedAtStart = (await receivedPayloads(store, job.data.runId)).length;
          calls.push({ jobId: job.id, runId: job.data.runId, receivedAtStart });
          if (calls.length === 1) await first.opened;
        } finally {
          active--;
        }
      });
      try {
        await waitFor(() => calls.length === 1, { what: 'the first replay to start' });
        const activeJob = await (await replayQueueOf(store, runId)).getJob(calls[0]!.jobId!);
        expect(await activeJob!.getState()).to.equal('active');
        expect(calls[0]!.receivedAtStart).to.equal(0);

        // Resumes while the job is active: appended, and not dropped by the deduplication.
        for (let i = 0; i < 3; i++) expect((await resumeHook(token, i)).runId).to.equal(runId);
        expect(await receivedPayloads(store, runId)).to.deep.equal([0, 1, 2]);
        expect((await pendingJobsOf(store, runId)).map((j) => j.id), 'only the active job so far').to.deep.equal([calls[0]!.jobId]);

        first.open();
        await waitFor(() => calls.length >= 2, { what: 'the follow-up replay' });
        await waitFor(
          async () => (await pendingJobsOf(store, runId)).length === 0 && (await (await replayQueueOf(store, runId)).getDeduplicationJobId(runId)) === null,
          { what: 'the queue to settle' },
        );
      } finally {
        first.open();
        await w.close();
      }
      expect(calls.map((c) => c.runId)).to.deep.equal([runId, runId]);
      expect(calls[1]!.jobId).to.not.equal(calls[0]!.jobId);
      // The follow-up saw every payload that arrived during the first replay.
      expect(calls[1]!.receivedAtStart).to.equal(3);
      // Three resumes during one active replay make one follow-up, and never two replays at once.
      expect(calls).to.have.length(2);
      expect(maxActive).to.equal(1);
    });

    it('a resume that lands while the active replay fails is still replayed afterwards', async function () {
      const runId = await createTestRun(store);
      const token = `fail:${runId}`;
      expect((await claimHook(store, runId, token)).r).to.equal('ok');

      const first = gate();
      const calls: { jobId: string | undefined; receivedAtStart: number }[] = [];
      const w = startWorkflowWorker(store, redis.url, async (job) => {
        calls.push({ jobId: job.id, receivedAtStart: (await receivedPayloads(store, runId)).length });
        if (calls.length === 1) {
          await first.opened;
          throw new Error('replay crashed');
        }
      });
      try {
        await waitFor(() => calls.length === 1, { what: 'the first replay to start' });
        await resumeHook(token, 'during-failure');
        first.open();
        // Either BullMQ's retry of the failed job or the deduplicated follow-up replays the run.
        await waitFor(() => calls.length >= 2, { what: 'a replay after the failure' });
        await waitFor(
          async () => (await pendingJobsOf(store, runId)).length === 0 && (await (await replayQueueOf(store, runId)).getDeduplicationJobId(runId)) === null,
          { what: 'the queue to settle' },
        );
      } finally {
        first.open();
        await w.close();
      }
      expect(calls[0]!.receivedAtStart).to.equal(0);
      expect(calls[1]!.receivedAtStart).to.equal(1);
      expect(await receivedPayloads(store, runId)).to.deep.equal(['during-failure']);
    });
  });
});
