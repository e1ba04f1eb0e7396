// @ts-nocheck -- verbatim copy of the reference page, written against the DOM lib, where Body.json() returns Promise<any>; Node's undici types (this project has no DOM lib) return Promise<unknown>. The signature is type-checked in seed-examples.test.ts.
// "Webhook Handler" example of the official resumeHook reference page
// (/work/shared/seeds/resume-hook.reference.txt), verbatim but for the import path.
import { resumeHook } from "workflow-redis/api";

// Generic webhook handler that forwards data to a hook
export async function POST(request: Request) {
  const url = new URL(request.url);
  const token = url.searchParams.get("token");

  if (!token) {
    return Response.json({ error: "Missing token" }, { status: 400 });
  }

  try {
    const body = await request.json();
    const result = await resumeHook(token, body);

    return Response.json({ success: true, runId: result.runId });
  } catch (error) {
    return Response.json({ error: "Hook not found" }, { status: 404 });
  }
}
