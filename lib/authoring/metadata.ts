/** getWorkflowMetadata and getStepMetadata. */
import { WorkflowError } from '../errors/errors.js';
import { currentExecution, stepStorage, type StepMetadata, type WorkflowMetadata } from '../replay/context.js';

/** Metadata of the current run; works in workflow code and in steps. */
export function getWorkflowMetadata(): WorkflowMetadata {
  const ex = currentExecution();
  if (ex) {
    return { workflowName: ex.workflowName, workflowRunId: ex.runId, workflowStartedAt: new Date(ex.startedAt), url: ex.publicUrl };
  }
  const step = stepStorage.getStore();
  if (step) return { ...step.workflow };
  throw new WorkflowError('getWorkflowMetadata() can only be called inside a workflow or a step.');
}

/** Metadata of the current step; `stepId` is stable across retries. */
export function getStepMetadata(): StepMetadata {
  const step = stepStorage.getStore();
  if (!step) throw new WorkflowError('getStepMetadata() can only be called inside a step.');
  return { ...step.step };
}
