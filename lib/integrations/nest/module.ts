/**
 * WorkflowModule: the Nest dynamic module of workflow-redis.
 */
import 'reflect-metadata';
import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { WorkflowWebhookController } from './controller.js';
import { WORKFLOW_OPTIONS, type WorkflowModuleAsyncOptions, type WorkflowModuleOptions } from './options.js';
import { WorkflowService } from './service.js';

/**
 * Global module that wires workflow-redis into a Nest app:
 * - configures the runtime API (`configure()` from `workflow-redis/api`) with
 *   the connection, prefix, payload limit and public URL;
 * - provides {@link WorkflowService} (start runs, resume hooks and webhooks,
 *   read runs) to every module;
 * - with `worker` set, runs a worker in this process from module init, and
 *   drains it on application shutdown (`app.close()`, or a signal once
 *   `app.enableShutdownHooks()` is on); the runtime API's Redis connections
 *   are closed after the HTTP server;
 * - registers the webhook route `ALL /.well-known/workflow/v1/webhook/:token`
 *   ({@link WorkflowWebhookController}; Express platform; create the app with
 *   `{ rawBody: true }`, or JSON and form webhooks are refused with a 500).
 *
 * @example
 * ```ts
 * const approval = defineWorkflow('approval', async (id: string) => { ... });
 *
 * const AppModule = Module({
 *   imports: [WorkflowModule.forRoot({ connection: process.env.REDIS_URL, workflows: [approval], worker: true })],
 * })(class AppModule {});
 *
 * const app = await NestFactory.create(AppModule, { rawBody: true });
 * app.enableShutdownHooks();
 * await app.listen(3000);
 * ```
 */
export class WorkflowModule {
  /** Configures the module with static options. */
  static forRoot(options: WorkflowModuleOptions = {}): DynamicModule {
    return WorkflowModule.build([{ provide: WORKFLOW_OPTIONS, useValue: options }], options.webhookController !== false);
  }

  /** Configures the module with options built by a factory (e.g. from a `ConfigService`). */
  static forRootAsync(options: WorkflowModuleAsyncOptions): DynamicModule {
    return WorkflowModule.build(
      [{ provide: WORKFLOW_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }],
      options.webhookController !== false,
      options.imports ?? [],
    );
  }

  private static build(optionProviders: Provider[], withController: boolean, imports: any[] = []): DynamicModule {
    return {
      module: WorkflowModule,
      global: true,
      imports,
      providers: [...optionProviders, WorkflowService],
      controllers: withController ? [WorkflowWebhookController] : [],
      exports: [WorkflowService, WORKFLOW_OPTIONS],
    };
  }
}

Module({})(WorkflowModule);
Global()(WorkflowModule);
