/**
 * `runs list` and `runs show`: the operator's view of runs, as tables or JSON
 * (and `runs tail`, in tail.ts).
 */
import { Command, Option } from 'commander';
import { readTimelineEvents } from '../../inspect/read-timeline.js';
import { buildTimeline } from '../../inspect/timeline.js';
import { RUN_STATUSES, type RunStatus } from '../../domain/run-status.js';
import { listRuns } from '../../runtime/list-runs.js';
import { getRun } from '../../runtime/run.js';
import { action } from '../command.js';
import { withApi } from '../context.js';
import { formatBytes, formatTime, parsePositiveInt, printJson, println, table } from '../format.js';
import { renderRunSummary, renderTimeline, runDuration, toRunView, withoutTokens } from '../timeline-text.js';
import { registerTailCommand } from './tail.js';

/** `runs show` reads at most this many events; longer logs are flagged as truncated. */
export const SHOW_MAX_EVENTS = 10_000;

interface ListOptions {
  status?: RunStatus;
  workflow?: string;
  workflowVersion?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
}


/** Registers `runs list` and `runs show` on `program`. */
export function registerRunsCommands(program: Command): void {
  const runs = program.command('runs').description('list runs, show one run with its timeline, tail its stream');

  runs
    .command('list')
    .description('list runs, newest first')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--workflow-version <version>', 'only runs pinned to this version of --workflow')
    .option('--limit <n>', 'how many runs (1-1000)', parsePositiveInt('--limit', 1000), 20)
    .option('--cursor <cursor>', 'the cursor printed by the previous page')
    .option('--json', 'print JSON: { data, cursor, hasMore }')
    .action(
      action(async (g, opts: ListOptions) => {
        await withApi(g, async () => {
          const page = await listRuns({
            status: opts.status,
            workflowName: opts.workflow,
            version: opts.workflowVersion,
            limit: opts.limit,
            cursor: opts.cursor ?? null,
          });
          if (opts.json) {
            printJson({ data: page.data.map(toRunView), cursor: page.cursor, hasMore: page.hasMore });
            return;
          }
          if (page.data.length === 0) {
            println(
              `No runs found (prefix "${g.prefix}"${opts.status ? `, status ${opts.status}` : ''}${opts.workflow ? `, workflow ${opts.workflow}` : ''}` +
                `${opts.workflowVersion ? `, version ${opts.workflowVersion}` : ''}).`,
            );
            return;
          }
          const now = Date.now();
          println(
            table(
              ['RUN ID', 'WORKFLOW', 'VERSION', 'STATUS', 'CREATED (UTC)', 'DURATION'],
              page.data.map((r) => [r.runId, r.workflowName, r.version, r.waitingFor ? `${r.status} (no worker)` : r.status, formatTime(r.createdAt), runDuration(r, now)]),
            ),
          );
          if (page.hasMore) println(`\nMore runs: add --cursor ${page.cursor}`);
        });
      }),
    );

  runs
    .command('show')
    .description('show a run: status, output or error, and a timeline of its steps, hooks and sleeps')
    .argument('<runId>', 'the run id')
    .option('--json', 'print JSON: { run, timeline, events, eventCount, truncated }')
    .action(
      action(async (g, runId: string, opts: { json?: boolean }) => {
        await withApi(g, async () => {
          const info = await getRun(runId).info();
          const { events, truncated } = await readTimelineEvents(runId, SHOW_MAX_EVENTS);
          const footprint = await getRun(runId).footprint();
          const items = withoutTokens(buildTimeline(events));
          if (opts.json) {
            printJson({
              run: toRunView(info),
              timeline: items,
              events: events.map((e) => ({ eventId: e.eventId, type: e.type, correlationId: e.correlationId, createdAt: new Date(e.createdAt) })),
              eventCount: events.length,
              truncated,
              footprint,
            });
            return;
          }
          println(renderRunSummary(info));
          println(`Memory    ${formatBytes(footprint.totalBytes)} in Redis (event log ${formatBytes(footprint.eventLogBytes)}, streams ${formatBytes(footprint.streamBytes)})`);
          println();
          println(`Timeline (${events.length}${truncated ? '+' : ''} events; AT = time since the run was created)`);
          println(renderTimeline(items, info.createdAt.getTime()));
          if (truncated) println(`\nOnly the first ${SHOW_MAX_EVENTS} events are shown.`);
        });
      }),
    );
  registerTailCommand(runs);
}
