/**
 * The Nest app of test/nest/hostile.test.ts, in its own process (not a spec
 * file): `node --import tsx _hostile-app.ts <redis url> <prefix>`.
 *
 * Why a process: mocha loads spec files through require(), and under tsx
 * that gives @nestjs/common a second instance next to the one
 * @nestjs/platform-express imports; Nest's own 400s for body-parser and URL
 * errors (HttpExceptions of the other instance) then become 500s, which an
 * app run by plain node never sees.
 *
 * Prints one JSON line `{ "port": n }` once listening, then one
 * `{ "log": ... }` line per Nest log message; closes on SIGTERM.
 */
import 'reflect-metadata';
import { ConsoleLogger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { WorkflowModule } from 'workflow-redis/nest';

class JsonLinesLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, level?: string): void {
    process.stdout.write(`${JSON.stringify({ log: { level, context, messages } })}\n`);
  }
}

const [connection, prefix] = process.argv.slice(2);
class AppModule {}
Module({ imports: [WorkflowModule.forRoot({ connection, prefix, maxPayloadBytes: 4096 })] })(AppModule);

const app = await NestFactory.create(AppModule, { rawBody: true, logger: new JsonLinesLogger() });
await app.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ port: (app.getHttpServer().address() as AddressInfo).port })}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
