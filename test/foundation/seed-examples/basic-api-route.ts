// @ts-nocheck -- verbatim copy of the reference page, written against the DOM lib, where Body.json() returns Promise<any>; Node's undici types (this project has no DOM lib) return Promise<unknown>. The signature is type-checked in seed-examples.test.ts.
// "Basic API Route" example of the official resumeHook reference page
// (/work/shared/seeds/resume-hook.reference.txt), verbatim but for the import path.
import { resumeHook } from "workflow-redis/api";

export async function POST(request: Request) {
  const { token, data } = await request.json();

  try {
    const result = await resumeHook(token, data);

    return Response.json({ success: true, runId: result.runId });
  } catch (error) {
    return new Response("Hook not found", { status: 404 });
  }
}
