/**
 * The runtime API's paging inputs — `listRuns({ cursor, limit, workflowName,
 * status })` and `run.events({ after, limit })` — are checked before Redis is
 * touched: a value Redis would refuse (an out-of-range cursor or stream id)
 * is an InvalidArgumentError that says what to pass, never a ReplyError, and
 * nothing is written. The largest valid values work (an empty page).
 */
import { expect } from 'chai';
import { getRun, InvalidArgumentError, listRuns } from 'workflow-redis/api';
import type { Store } from '../../lib/redis/store.js';
import { createTestRun, expectNoWrites, foundationSuite } from './helpers.js';

describe('runtime API: paging inputs are validated before Redis', function () {
  let store: Store;
  let runId: string;
  const suite = foundationSuite('paging');

  before(async () => {
    store = await suite.freshStore();
    runId = await createTestRun(store, undefined, 'paging.wf');
  });

  /** Asserts `fn` rejects with InvalidArgumentError whose message matches `hint`, writing nothing. */
  async function expectInvalid(label: string, fn: () => Promise<unknown>, hint: RegExp): Promise<void> {
    const err = await expectNoWrites(suite.admin, fn);
    expect(err, label).to.be.instanceOf(InvalidArgumentError);
    expect((err as Error).name, label).to.equal('InvalidArgumentError');
    expect((err as Error).message, label).to.match(hint);
  }

  it('listRuns: a cursor that is not a canonical integer from 0 to 2^53-1 is an InvalidArgumentError', async () => {
    const bad: unknown[] = ['1e21', '9007199254740992', '18446744073709551616', '-1', '0x10', ' 1', '1 ', '+1', '01', '1.5', 'NaN', 'Infinity', 'abc', '١', 5, {}, []];
    for (const cursor of bad) {
      await expectInvalid(`cursor ${JSON.stringify(cursor)}`, () => listRuns({ cursor: cursor as string }), /listRuns\(\{ cursor \}\): pass the cursor of the previous page/);
    }
    expect(await listRuns({ cursor: String(Number.MAX_SAFE_INTEGER) })).to.deep.equal({ data: [], cursor: null, hasMore: false });
    for (const cursor of [undefined, null, '', '0']) expect((await listRuns({ cursor })).data.map((r) => r.runId)).to.deep.equal([runId]);
  });

  it('listRuns: a bad limit, workflowName or status is an InvalidArgumentError', async () => {
    for (const limit of [0, -1, 1001, 1.5, NaN, Infinity, '10', null]) {
      await expectInvalid(`limit ${String(limit)}`, () => listRuns({ limit: limit as number }), /listRuns\(\{ limit \}\) must be an integer from 1 to 1000/);
    }
    for (const workflowName of [42, '', 'x'.repeat(201), 'a b', 'ünï', null, ['paging.wf']]) {
      await expectInvalid(`workflowName ${JSON.stringify(workflowName)}`, () => listRuns({ workflowName: workflowName as string }), /listRuns\(\{ workflowName \}\): pass a workflow name/);
    }
    await expectInvalid('status', () => listRuns({ status: 'bogus' as 'running' }), /listRuns\(\{ status \}\): use one of/);
    expect((await listRuns({ workflowName: 'paging.wf', limit: 1000 })).data).to.have.length(1);
  });

  it('run.events: an `after` that is not a stream id with both parts up to 2^64-1 is an InvalidArgumentError', async () => {
    const run = getRun(runId);
    const bad: unknown[] = ['garbage', '99999999999999999999-0', '18446744073709551616-0', '0-18446744073709551616', '1', '1-', '-1', '1-1-1', '01-0', ' 1-0', '0x1-0', '1e3-0', '+1-0', 5, {}];
    for (const after of bad) {
      await expectInvalid(`after ${JSON.stringify(after)}`, () => run.events({ after: after as string }), /run\.events\(\{ after \}\): pass the eventId of an event/);
    }
    const events = await run.events();
    expect(events.map((e) => e.type)).to.deep.equal(['run_created']);
    expect(await run.events({ after: '' }), "'' is from the start").to.deep.equal(events);
    expect(await run.events({ after: events[0]!.eventId })).to.deep.equal([]);
    // Redis refuses an exclusive range from the largest id: the API answers with the empty page instead.
    expect(await run.events({ after: '18446744073709551615-18446744073709551615' })).to.deep.equal([]);
    expect(await run.events({ after: '18446744073709551615-0' })).to.deep.equal([]);
  });

  it('run.events: a limit that is not an integer from 1 to 10 000 is an InvalidArgumentError (not clamped)', async () => {
    const run = getRun(runId);
    for (const limit of [0, -1, 10_001, 1.5, NaN, Infinity, '5', null]) {
      await expectInvalid(`limit ${String(limit)}`, () => run.events({ limit: limit as number }), /run\.events\(\{ limit \}\) must be an integer from 1 to 10000/);
    }
    expect(await run.events({ limit: 10_000 })).to.have.length(1);
    expect(await run.events({ limit: 1 })).to.have.length(1);
  });
});
