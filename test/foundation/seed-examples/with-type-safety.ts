// @ts-nocheck -- verbatim copy of the reference page, written against the DOM lib, where Body.json() returns Promise<any>; Node's undici types (this project has no DOM lib) return Promise<unknown>. The signature is type-checked in seed-examples.test.ts.
// "With Type Safety" example of the official resumeHook reference page
// (/work/shared/seeds/resume-hook.reference.txt), verbatim but for the import path.
import { resumeHook } from "workflow-redis/api";

type ApprovalPayload = {
  approved: boolean;
  comment: string;
};

export async function POST(request: Request) {
  const { token, approved, comment } = await request.json();

  try {
    const result = await resumeHook<ApprovalPayload>(token, {
      approved,
      comment,
    });

    return Response.json({ runId: result.runId });
  } catch (error) {
    return Response.json({ error: "Invalid token" }, { status: 404 });
  }
}
