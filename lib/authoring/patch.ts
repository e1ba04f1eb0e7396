/**
 * patched() and deprecatePatch(): changing a workflow's code while runs of
 * the old code are still in flight, without a new workflow name. The
 * decision rule and the marker event are the replay engine's
 * (lib/replay/patches.ts); docs/PATCHING.md is the user's guide.
 */
import { InvalidArgumentError, WorkflowError } from '../errors/errors.js';
import { currentExecution, type WorkflowHandle } from '../replay/context.js';

/** Longest patch id accepted (it is stored in the event log of every run that takes the patch). */
export const MAX_PATCH_ID_LENGTH = 100;

const PATCH_ID_RE = /^[A-Za-z0-9_.:/@-]+$/;

/** Throws InvalidArgumentError unless `patchId` is 1-100 letters, digits or `_ . : / @ -`. */
function assertPatchId(fn: string, patchId: unknown): asserts patchId is string {
  if (typeof patchId === 'string' && patchId.length <= MAX_PATCH_ID_LENGTH && PATCH_ID_RE.test(patchId)) return;
  const how = `pass a short stable name of 1-${MAX_PATCH_ID_LENGTH} letters, digits or '_ . : / @ -' (e.g. ${fn}('add-fraud-check'))`;
  if (typeof patchId !== 'string') {
    throw new InvalidArgumentError(`${fn}(patchId): the patch id must be a string, got ${patchId === null ? 'null' : typeof patchId}; ${how}.`);
  }
  if (patchId.length === 0) throw new InvalidArgumentError(`${fn}(''): the patch id is empty; ${how}.`);
  if (patchId.length > MAX_PATCH_ID_LENGTH) {
    throw new InvalidArgumentError(`${fn}(patchId): the patch id is ${patchId.length} characters long; ${how}.`);
  }
  throw new InvalidArgumentError(`${fn}(${JSON.stringify(patchId)}): the patch id has characters other than letters, digits or '_ . : / @ -'; ${how}.`);
}

function requireExecution(fn: string, patchId: string): WorkflowHandle {
  const ex = currentExecution();
  if (!ex) {
    throw new WorkflowError(
      `${fn}('${patchId}') can only be called inside a workflow function (not in a step, nor outside a run): ` +
        'it chooses between the code paths of a replayed workflow. Step code needs no patch: a change takes effect at its next attempt.',
    );
  }
  return ex;
}

/**
 * Guards a change to a workflow's code, for runs already in flight:
 * `if (patched('add-fraud-check')) { new code } else { old code }`.
 *
 * Returns `true` when this run reaches the call for the first time with
 * nothing recorded past this point (a new run, or one the old code has not
 * taken this far yet): a marker is recorded in the run's log, and every
 * replay of the run answers `true` here again. Returns `false` when the run's
 * history already went past this point under the old code (it has calls the
 * code has not made yet): take the old branch, which replays that history.
 * Further calls with the same id in the same run return the same answer.
 *
 * A history that contradicts the decision fails the run with a
 * NondeterminismError naming the patch: the log has the marker but the code
 * no longer calls `patched(id)` there (or calls it too early).
 * Once no run of the old code is left, replace the call with
 * {@link deprecatePatch}; see docs/PATCHING.md.
 *
 * @param patchId 1-100 letters, digits or `_ . : / @ -`; stable, and unique per change within the workflow.
 * @throws InvalidArgumentError for an invalid id; WorkflowError outside workflow code.
 */
export function patched(patchId: string): boolean {
  assertPatchId('patched', patchId);
  return requireExecution('patched', patchId).patched(patchId, false);
}

/**
 * The clean-up step after {@link patched}: the code keeps only the patched
 * branch, and `deprecatePatch(id)` stands where `patched(id)` was. It
 * replays runs that recorded the patch's marker, and records one in new runs
 * (marked deprecated), so that a worker still running the `patched(id)`
 * code takes the patched branch for them too. Runs whose marker was recorded
 * by `deprecatePatch` replay on code without any call for the patch: once
 * every run that recorded it with `patched(id)` has finished, the call can go.
 *
 * It raises no error on a history that passed this point without the marker
 * (a run of the code from before the patch), but such a run replays the
 * patched branch only: deploy it once no such run is left. If that history
 * then diverges, the NondeterminismError says so.
 *
 * @param patchId the id given to {@link patched}.
 * @throws InvalidArgumentError for an invalid id; WorkflowError outside workflow code.
 */
export function deprecatePatch(patchId: string): void {
  assertPatchId('deprecatePatch', patchId);
  requireExecution('deprecatePatch', patchId).patched(patchId, true);
}
