/**
 * `worker --import <module...>`: imports the modules that define workflows
 * and steps, runs a worker for every workflow they registered, and drains
 * gracefully on SIGTERM / SIGINT (exit 0). Scale out by running more of them.
 */
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listWorkflows, type Workflow } from '../../authoring/registry.js';
import { DEFAULT_WORKFLOW_VERSION, routeId } from '../../domain/route.js';
import { LOG_LEVEL_ENV, LOG_LEVELS, type LogLevelSetting } from '../../log/logger.js';
import { createWorker } from '../../worker/create-worker.js';
import { action } from '../command.js';
import { checkRedis, CliError, safeUrl, type GlobalOptions } from '../context.js';
import { parsePositiveInt, println } from '../format.js';

/** Options of the `worker` command. */
export interface WorkerCommandOptions {
  import: string[];
  concurrency?: number;
  /** Base URL of webhook URLs created by workflows (`--public-url`, env `PUBLIC_URL`). */
  publicUrl?: string;
  /** Lowest level logged on stderr (`--log-level`, env `WORKFLOW_REDIS_LOG_LEVEL`). */
  logLevel?: LogLevelSetting;
}

/** The import specifier of a `--import` argument: a path relative to the working directory, or a package name. */
export function moduleSpecifier(arg: string, cwd = process.cwd()): string {
  const path = isAbsolute(arg) ? arg : resolve(cwd, arg);
  if (existsSync(path)) return pathToFileURL(path).href;
  if (arg.startsWith('.') || isAbsolute(arg) || /\.[cm]?[jt]s$/.test(arg)) {
    throw new CliError(`Cannot find the module ${JSON.stringify(arg)} (looked for ${path}). Paths are relative to the working directory.`);
  }
  return arg; // a package name
}

function isWorkflow(v: unknown): v is Workflow {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as Workflow).workflowName === 'string' &&
    typeof (v as Workflow).fn === 'function'
  );
}

/**
 * Imports the modules and returns every workflow they registered: the
 * registry's, plus workflows found among the modules' exports (directly or in
 * an exported array), which also catches a module bound to another copy of
 * the package.
 */
export async function importWorkflows(args: string[]): Promise<Workflow[]> {
  const found = new Map<string, Workflow>();
  for (const arg of args) {
    const spec = moduleSpecifier(arg);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(spec)) as Record<string, unknown>;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const hint = e.code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? ' To import TypeScript, run the CLI under tsx (node --import tsx ...) or build the module to JavaScript.'
        : '';
      if (process.env.WORKFLOW_REDIS_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
      throw new CliError(`Cannot import ${JSON.stringify(arg)}: ${e.message}.${hint}`);
    }
    for (const value of Object.values(mod)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        if (!isWorkflow(v)) continue;
        // A handle of an older copy of the package has no version: it is version 1, as its runs are.
        const wf = typeof v.version === 'string' ? v : { ...v, version: DEFAULT_WORKFLOW_VERSION };
        if (!found.has(routeId(wf))) found.set(routeId(wf), wf);
      }
    }
  }
  for (const wf of listWorkflows()) found.set(routeId(wf), wf);
  return [...found.values()];
}

/** Runs the worker until SIGTERM / SIGINT, then drains and exits 0. */
export async function runWorker(g: GlobalOptions, opts: WorkerCommandOptions): Promise<void> {
  const workflows = await importWorkflows(opts.import);
  if (workflows.length === 0) {
    throw new CliError(`No workflows found in ${opts.import.join(', ')}: the modules must call defineWorkflow() (or export its result).`);
  }
  await checkRedis(g.redis);
  const worker = await createWorker({
    workflows,
    concurrency: opts.concurrency,
    connection: g.redis,
    prefix: g.prefix,
    publicUrl: opts.publicUrl || undefined,
    logLevel: opts.logLevel,
    // Checked just above: a Redis gone since is an error to exit on, not to wait for.
    waitForRedis: false,
  });
  const names = [...worker.routes].sort();
  println(
    `workflow-redis worker ${worker.id} ready (pid ${process.pid}): ${names.length} workflow version${names.length === 1 ? '' : 's'} ` +
      `[${names.join(', ')}], concurrency ${opts.concurrency ?? 10}, Redis ${safeUrl(g.redis)}, prefix "${g.prefix}". ` +
      'Stop with SIGTERM or Ctrl-C.',
  );

  await new Promise<void>((done) => {
    let draining = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (draining) {
        process.stderr.write(`Received ${signal} again: exiting without waiting for active jobs (they will be retried).\n`);
        process.exit(1);
      }
      draining = true;
      println(`Received ${signal}: draining (waiting for active jobs to finish)...`);
      worker.close().then(
        () => {
          println(`Worker ${worker.id} stopped.`);
          done();
        },
        (err: unknown) => {
          process.stderr.write(`Error: the worker did not close cleanly: ${(err as Error).message}\n`);
          process.exitCode = 1;
          done();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Registers `worker` on `program`. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run workflow replays and steps for the workflows defined in the given modules')
    .requiredOption('--import <module...>', 'module(s) that define workflows and steps (paths relative to the working directory)')
    .option('--concurrency <n>', 'jobs processed at once per queue (default: 10)', parsePositiveInt('--concurrency', 10_000))
    .addOption(
      new Option('--public-url <url>', 'base URL of webhook URLs created by workflows (default: http://localhost:$PORT)').env('PUBLIC_URL'),
    )
    .addOption(
      new Option('--log-level <level>', 'lowest level logged as JSON lines on stderr (default: info)')
        .choices(LOG_LEVELS as string[])
        .env(LOG_LEVEL_ENV),
    )
    .addHelpText(
      'after',
      '\nExample:\n  workflow-redis worker --import ./dist/workflows.js --concurrency 20\n\n' +
        'Logs (JSON lines on stderr): runs started, completed, failed and cancelled, steps retried and failed at info/warn;\n' +
        'each replay at debug. Without Redis it exits 1 within a few seconds, naming the address.\n' +
        'On SIGTERM or SIGINT the worker stops taking jobs, waits for active ones and exits 0.\n' +
        'Run as many workers as you like against one Redis (e.g. docker compose up --scale worker=3).',
    )
    .action(action((g, opts: WorkerCommandOptions) => runWorker(g, opts)));
}
