/**
 * WorkflowService: the runtime API (`workflow-redis/api`) as an injectable Nest
 * provider. It also owns the module's lifecycle: it configures the runtime API
 * when it is created, starts the in-process worker on module init (when the
 * module's `worker` option is set) and closes the worker and the runtime
 * client when the application shuts down.
 */
import 'reflect-metadata';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  closeWorkflowClient,
  configure,
  getHookByToken,
  getRun,
  listRuns,
  resumeHook,
  resumeHooks,
  resumeWebhook,
  start,
  type HookInfo,
  type ResumeHooksOptions,
  type ResumeHooksSelector,
  type ListRunsOptions,
  type Run,
  type RunPage,
  type StartOptions,
} from '../../api.js';
import type { Workflow } from '../../authoring/registry.js';
import { createWorker, type WorkflowWorker } from '../../worker.js';
import { WORKFLOW_OPTIONS, type WorkflowModuleOptions } from './options.js';

/**
 * The runtime API as a Nest provider: inject it to start runs, resume hooks
 * and webhooks, and read runs. Every method delegates to the function of the
 * same name in `workflow-redis/api`, which `WorkflowModule` configures.
 *
 * The runtime configuration is process-wide: use one `WorkflowModule` per
 * process.
 */
export class WorkflowService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('WorkflowModule');
  private workerInstance: WorkflowWorker | undefined;
  private workerClosing: Promise<void> | undefined;
  private clientClosing: Promise<void> | undefined;

  /** Created by Nest with the module's options; configures the runtime API. */
  constructor(private readonly options: WorkflowModuleOptions) {
    // Everything but the module's own settings is the runtime configuration (a new configure() option needs no change here).
    const { workflows: _workflows, worker: _worker, webhookController: _controller, webhookResponseTimeoutMs: _timeout, ...config } = options;
    configure(config);
  }

  /** The in-process worker, once started (undefined without the `worker` option). */
  get worker(): WorkflowWorker | undefined {
    return this.workerInstance;
  }

  /** The module's resolved options. */
  get moduleOptions(): Readonly<WorkflowModuleOptions> {
    return this.options;
  }

  /** Nest hook: starts the worker when the `worker` option is set. */
  async onModuleInit(): Promise<void> {
    const w = this.options.worker;
    if (!w || this.workerInstance) return;
    const settings = typeof w === 'object' ? w : {};
    this.workerInstance = await createWorker({
      ...settings,
      workflows: this.options.workflows ?? [],
      connection: this.options.connection,
      prefix: this.options.prefix,
      publicUrl: this.options.publicUrl,
      // The module's logger settings apply to its worker too, unless the worker options set their own.
      logger: settings.logger ?? this.options.logger,
      logLevel: settings.logLevel ?? this.options.logLevel,
    });
    this.logger.log(`Worker ${this.workerInstance.id} started (${this.options.workflows?.length ?? 0} workflows)`);
  }

  /** Nest hook: drains the worker (active jobs finish) before the HTTP server closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.closeWorker();
  }

  /** Nest hook: closes the worker (if still open) and the runtime API's Redis connections. */
  async onApplicationShutdown(): Promise<void> {
    await this.closeWorker();
    this.clientClosing ??= closeWorkflowClient();
    await this.clientClosing;
  }

  private async closeWorker(): Promise<void> {
    const worker = this.workerInstance;
    if (!worker) return;
    this.workerClosing ??= worker.close();
    await this.workerClosing;
  }

  /** Starts a run of `workflow` with `args`; see `start` in `workflow-redis/api`. */
  start<Args extends unknown[], R>(workflow: Workflow<Args, R> | string, args: Args | [] = [], opts: StartOptions = {}): Promise<Run<R>> {
    return start(workflow, args, opts);
  }

  /** Resumes the hook holding `token` with `payload`; rejects with `HookNotFoundError` for an unknown token. */
  resumeHook<T = unknown>(token: string, payload: T): Promise<HookInfo> {
    return resumeHook(token, payload);
  }

  /**
   * Resumes every live hook with `selector.tag` with `payload`, in claim order,
   * and resolves to the hooks resumed; see `resumeHooks` in `workflow-redis/api`
   * (TooManyHooksError above `maxHooks`, nothing resumed then).
   */
  resumeHooks<T = unknown>(selector: ResumeHooksSelector, payload: T, opts?: ResumeHooksOptions): Promise<HookInfo[]> {
    return resumeHooks(selector, payload, opts);
  }

  /** Resumes the webhook holding `token` with an HTTP request and resolves to the HTTP response. */
  resumeWebhook(token: string, request: Request, opts?: { responseTimeoutMs?: number }): Promise<Response> {
    return resumeWebhook(token, request, opts);
  }

  /** The hook holding `token`; rejects with `HookNotFoundError` when there is none. */
  getHookByToken<M = unknown>(token: string): Promise<HookInfo<M>> {
    return getHookByToken<M>(token);
  }

  /** A handle on the run `runId` (status, return value, events, cancel). */
  getRun<R = unknown>(runId: string): Run<R> {
    return getRun<R>(runId);
  }

  /** One page of runs, optionally filtered by status and workflow name. */
  listRuns(opts: ListRunsOptions = {}): Promise<RunPage> {
    return listRuns(opts);
  }
}

Injectable()(WorkflowService);
Inject(WORKFLOW_OPTIONS)(WorkflowService, undefined, 0);
Reflect.defineMetadata('design:paramtypes', [Object], WorkflowService);
