/**
 * Options of `WorkflowModule.forRoot()` / `forRootAsync()` and the injection
 * token they are provided under.
 */
import type { WorkflowConfig } from '../../runtime/config.js';
import type { Workflow } from '../../authoring/registry.js';
import type { WorkerOptions } from '../../worker/create-worker.js';

/**
 * Worker settings of {@link WorkflowModuleOptions.worker}: everything
 * `createWorker()` takes except what the module already knows (workflows,
 * connection, prefix, public URL).
 */
export type WorkflowModuleWorkerOptions = Omit<WorkerOptions, 'workflows' | 'connection' | 'prefix' | 'publicUrl'>;

/** Options of `WorkflowModule.forRoot()`. */
export interface WorkflowModuleOptions extends WorkflowConfig {
  /**
   * The workflows of this app (values returned by `defineWorkflow`). The
   * worker runs these; listing them here also makes sure their modules are
   * imported, so `start()` finds them by name.
   */
  workflows?: Workflow[];
  /**
   * Run a worker (workflow replays and steps) inside this Nest process:
   * `true` for the defaults, or `createWorker()` settings such as
   * `{ concurrency, lockDurationMs }`. Default: no worker (run workers as
   * separate processes with the CLI or `createWorker`).
   * The worker starts on module init and drains on application shutdown.
   */
  worker?: boolean | WorkflowModuleWorkerOptions;
  /**
   * Register the webhook route `ALL /.well-known/workflow/v1/webhook/:token`
   * (`WorkflowWebhookController`). Default `true`; set `false` to mount your
   * own route with `toWebRequest` / `writeWebResponse`.
   */
  webhookController?: boolean;
  /**
   * How long the webhook route waits for the response of a `'manual'` webhook
   * (`request.respondWith()` in a step) before answering `504`, in ms.
   * Default 30 s.
   */
  webhookResponseTimeoutMs?: number;
}

/** Options of `WorkflowModule.forRootAsync()`. */
export interface WorkflowModuleAsyncOptions {
  /** Modules whose providers `useFactory` injects (e.g. `ConfigModule`). */
  imports?: any[];
  /** Injection tokens passed to `useFactory`, in order. */
  inject?: any[];
  /** Builds the options, e.g. from a `ConfigService`. Its `webhookController` is ignored. */
  useFactory: (...args: any[]) => WorkflowModuleOptions | Promise<WorkflowModuleOptions>;
  /**
   * Register the webhook controller (see {@link WorkflowModuleOptions.webhookController});
   * set here because Nest needs to know before the factory runs. Default `true`.
   */
  webhookController?: boolean;
}

/** Injection token of the resolved {@link WorkflowModuleOptions}. */
export const WORKFLOW_OPTIONS = Symbol.for('workflow-redis:nest:options');
