/**
 * The run inspector in headless Chromium: the run list, the timeline of a
 * two-step run (names, attempts, completed status), resuming a waiting run
 * from the page, and escaping of run data. Skipped when /usr/bin/chromium is
 * missing. Leaves a screenshot at tmp/inspector.png.
 */
import { expect } from 'chai';
import express from 'express';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createHook, createWebhook, defineStep, defineWorkflow, getWritable, RetryableError } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { serve, type Served } from './_util.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tmp', 'inspector.png');
const N = 'express-inspector';

const tries = new Map<string, number>();
const reserve = defineStep(`${N}.reserve-stock`, async (sku: string) => {
  const n = (tries.get(sku) ?? 0) + 1;
  tries.set(sku, n);
  if (n < 2) throw new RetryableError('warehouse busy', { retryAfter: 50 });
  return `res-${sku}`;
});
const charge = defineStep(`${N}.charge-card`, async (reservation: string) => `charged for ${reservation}`);

const order = defineWorkflow(`${N}.order`, async (sku: string) => {
  const reservation = await reserve(sku);
  return { receipt: await charge(reservation) };
});
const approval = defineWorkflow(`${N}.approval`, async (id: string) => {
  const decision = await createHook<{ approved: boolean }>({ token: `insp:${id}` });
  return { approved: decision.approved };
});
const viaWebhook = defineWorkflow(`${N}.webhook`, async () => {
  const request = await createWebhook();
  return request.method;
});
const hostile = defineWorkflow(`${N}.hostile`, async () => {
  throw new Error('<img src=x onerror="window.__xss=1"><b>bold?</b>');
});

/** Released by the stream test: the step writes two chunks, waits for it, then writes three more. */
let releaseWriter: () => void = () => undefined;
const writeSlowly = defineStep(`${N}.write-slowly`, async () => {
  const w = getWritable<string | { n: number }>().getWriter();
  await w.write('first chunk');
  await w.write({ n: 2 });
  await new Promise<void>((r) => (releaseWriter = r));
  for (const c of ['third', 'fourth', 'fifth']) await w.write(c);
  return 5;
});
const streaming = defineWorkflow(`${N}.streaming`, async () => writeSlowly(), { version: '3' });

describe('express: run inspector (headless Chromium)', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  let server: Served;
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];
  const prefix = uniquePrefix('xinsp');

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip();
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [order, approval, viaWebhook, hostile, streaming], connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    const app = express();
    app.use('/wf', workflowRouter({ unsafeNoAuth: true, dashboard: { unsafeNoAuth: true }, logger: () => undefined }));
    server = await serve(app);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // CSP violations and script errors show up here.
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => void problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });
  afterEach(() => {
    expect(problems, 'console errors').to.deep.equal([]);
  });

  it('shows the timeline of a completed two-step run: step names, attempts, durations, status', async () => {
    const run = await start(order, [`sku-${Date.now()}`]);
    await run.returnValue;
    await page.goto(`${server.url}/wf/inspector?run=${encodeURIComponent(run.runId)}`);
    await page.locator('#run-status [data-status="completed"]').waitFor();

    const steps = page.locator('tr[data-kind="step"]');
    expect(await steps.count()).to.equal(2);
    expect(await steps.nth(0).getAttribute('data-name')).to.equal(`${N}.reserve-stock`);
    expect(await steps.nth(1).getAttribute('data-name')).to.equal(`${N}.charge-card`);
    const first = await steps.nth(0).innerText();
    expect(first).to.include(`${N}.reserve-stock`).and.include('2 attempts').and.include('completed');
    expect(first).to.include('attempt 1: retrying').and.include('warehouse busy');
    expect(first).to.match(/\d+(\.\d+)? m?s/);
    const second = await steps.nth(1).innerText();
    expect(second).to.include(`${N}.charge-card`).and.include('1 attempt').and.include('completed');
    expect(await page.locator('tr[data-kind="run"]').allInnerTexts()).to.have.length(3);
    expect(await page.locator('#run-status').innerText()).to.equal('completed');
    expect(await page.locator('dl.summary').innerText()).to.include('charged for res-sku-');
    expect(await page.locator('form.resume').isHidden(), 'no resume form for a finished run').to.equal(true);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it("shows a run's stream live: chunks appear while the run runs, then it says the stream ended", async () => {
    const run = await start(streaming, []);
    await page.goto(`${server.url}/wf/inspector?run=${encodeURIComponent(run.runId)}`);
    await page.locator('#stream .chunk').nth(1).waitFor();
    expect(await page.locator('#stream .chunk').allInnerTexts()).to.deep.equal(['first chunk', '{"n":2}']);
    expect(['pending', 'running'], 'the run is still going').to.include(await run.status);
    expect(await page.locator('#stream-state').innerText()).to.include('Live');
    expect(await page.locator('dl.summary').innerText()).to.include('Version').and.include('3');
    releaseWriter();
    expect(await run.returnValue).to.equal(5);
    await page.locator('#stream-state', { hasText: 'ended' }).waitFor();
    expect(await page.locator('#stream .chunk').allInnerTexts()).to.deep.equal(['first chunk', '{"n":2}', 'third', 'fourth', 'fifth']);
  });

  it('lists runs with a status filter and links to each run', async () => {
    const run = await start(order, [`sku-list-${Date.now()}`]);
    await run.returnValue;
    await page.goto(`${server.url}/wf/inspector`);
    const row = page.locator(`tr[data-run="${run.runId}"]`);
    await row.waitFor();
    expect(await row.innerText()).to.include(`${N}.order`).and.include('completed');
    expect(await row.locator('td').nth(2).innerText(), 'the version column').to.equal('1');

    await page.selectOption('select[name=status]', 'running');
    await Promise.all([page.waitForURL(/status=running/), page.click('form.filters button[type=submit]')]);
    await page.locator('main p.muted').filter({ hasText: /No runs match|^$/ }).first().waitFor({ state: 'attached' });
    expect(await page.locator(`tr[data-run="${run.runId}"]`).count()).to.equal(0);

    await page.goto(`${server.url}/wf/inspector?status=completed`);
    await page.locator(`tr[data-run="${run.runId}"] a`).click();
    await page.waitForURL(new RegExp(`run=${run.runId}`));
    await page.locator('tr[data-kind="step"]').first().waitFor();
  });

  it('resumes a waiting run from the form (token prefilled from the live hook)', async () => {
    const id = `appr-${Date.now()}`;
    const run = await start(approval, [id]);
    await waitFor(async () => (await run.events()).some((e) => e.type === 'hook_created'), { what: 'hook' });
    await page.goto(`${server.url}/wf/inspector?run=${encodeURIComponent(run.runId)}`);
    const hookRow = page.locator('tr[data-kind="hook"]');
    await hookRow.waitFor();
    expect(await hookRow.innerText()).to.include('0 payloads received').and.include('waiting');
    expect(await page.inputValue('form.resume input[name=token]')).to.equal(`insp:${id}`);

    await page.fill('form.resume textarea[name=data]', 'not json');
    await page.click('form.resume button[type=submit]');
    await page.locator('p.resume-status .error').filter({ hasText: 'not valid JSON' }).waitFor();

    await page.fill('form.resume textarea[name=data]', '{ "approved": true }');
    await page.click('form.resume button[type=submit]');
    await page.locator('p.resume-status[role=status]').filter({ hasText: 'resumed' }).waitFor();
    expect(await run.returnValue).to.deep.equal({ approved: true });
    await page.locator('#run-status [data-status="completed"]').waitFor();
    expect(await hookRow.innerText()).to.include('1 payload received');
  });

  it('shows a live webhook’s URL (not a resume button) and cancels a run from the page', async () => {
    const run = await start(viaWebhook, []);
    const token = await waitFor(async () => (await run.events()).find((e) => e.type === 'hook_created')?.data as { token: string } | undefined, { what: 'webhook' });
    await page.goto(`${server.url}/wf/inspector?run=${encodeURIComponent(run.runId)}`);
    const hookRow = page.locator('tr[data-kind="hook"]');
    await hookRow.waitFor();
    expect(await hookRow.innerText()).to.include(`URL /wf/.well-known/workflow/v1/webhook/${token!.token}`);
    expect(await hookRow.locator('button').count()).to.equal(0);
    expect(await page.inputValue('form.resume input[name=token]'), 'webhook tokens are not offered').to.equal('');

    page.once('dialog', (d) => void d.accept());
    await page.click('button.danger');
    await page.locator('#run-status [data-status="cancelled"]').waitFor();
    expect(await hookRow.getAttribute('data-status')).to.equal('closed');
    expect(await hookRow.innerText()).not.to.include(token!.token);
    expect(await page.locator('button.danger').isHidden()).to.equal(true);
  });

  it('shows run data as text: markup in an error message is not interpreted', async () => {
    const run = await start(hostile, []);
    await run.returnValue.catch(() => undefined);
    await page.goto(`${server.url}/wf/inspector?run=${encodeURIComponent(run.runId)}`);
    await page.locator('#run-status [data-status="failed"]').waitFor();
    expect(await page.locator('dl.summary').innerText()).to.include('<img src=x onerror="window.__xss=1"><b>bold?</b>');
    expect(await page.locator('main img, main b').count()).to.equal(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).to.equal(undefined);
  });

  it('says so for an unknown run', async () => {
    await page.goto(`${server.url}/wf/inspector?run=wrun_does_not_exist`);
    await page.locator('[role=alert]').filter({ hasText: 'No run with this id.' }).waitFor();
    problems.length = 0; // the browser logs the 404 of the timeline request itself
  });
});
