/**
 * One replay's hold on its run: the run's lease in Redis (its owner, with a
 * time to live) and the epoch that fences the replay's commits.
 *
 * Its lifecycle, all here:
 * - taken: by acquireRun before the replay ({@link RunLease.acquire}), or, for
 *   a new run whose job carries a start hint, by the replay's first commit
 *   ({@link RunLease.toStart}, then {@link RunLease.takeStart});
 * - renewed every third of its time to live while held; a renewal that finds
 *   another owner marks it {@link RunLease.lost} (the replay stops writing);
 * - released by the commit that leaves the run waiting or finished
 *   (`releaseOwner`, noted by {@link RunLease.noteReleased}), or else at the
 *   end of the replay ({@link RunLease.release}).
 */
import type { Store } from '../redis/store.js';
import type { CommitReply, StartSpec } from '../redis/store-types.js';

/** What a lease needs of the store. */
type LeaseStore = Pick<Store, 'acquireRun' | 'renewLease' | 'releaseRun'>;

/** What acquireRun says about the run besides its lease: its status, its input and its first page of events. */
export type AcquiredRun = Awaited<ReturnType<Store['acquireRun']>>;

/** Shortest renewal interval, ms. */
const MIN_RENEW_MS = 50;

/** The replay's hold on one run's lease. */
export class RunLease {
  private _epoch: number;
  private _start: StartSpec | undefined;
  private _acquired: boolean;
  private _lost = false;
  private _released = false;
  private renewal: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly store: LeaseStore,
    readonly runId: string,
    /** Lease owner: unique per job attempt. */
    readonly owner: string,
    /** Lease time to live, ms. */
    private readonly ttlMs: number,
    epoch: number,
    start: StartSpec | undefined,
    /**
     * The run's first replay job on its first delivery: its steps may run before
     * the start commit. Not on a re-delivery (a worker died in it): the run may
     * have results recorded already, which a replay from the log would reuse.
     */
    readonly firstDelivery: boolean,
  ) {
    this._epoch = epoch;
    this._start = start;
    this._acquired = start === undefined;
  }

  /**
   * Takes the lease (acquireRun: bumps the epoch, appends run_started for a
   * pending run) and returns it with what acquireRun read of the run. Throws
   * what acquireRun throws (LeaseBusyError while another replay holds it).
   */
  static async acquire(
    store: LeaseStore,
    runId: string,
    owner: string,
    ttlMs: number,
    warm?: { epoch: number; cursor: string },
  ): Promise<{ lease: RunLease; run: AcquiredRun }> {
    const run = await store.acquireRun(runId, owner, ttlMs, warm);
    return { lease: new RunLease(store, runId, owner, ttlMs, run.epoch, undefined, false), run };
  }

  /** A new run's lease, not taken yet: its first commit carries `start` and takes it. */
  static toStart(store: LeaseStore, runId: string, start: StartSpec, firstDelivery: boolean): RunLease {
    return new RunLease(store, runId, start.owner, start.ttlMs, 0, start, firstDelivery);
  }

  /** The epoch fencing the replay's commits (0 until a new run's first commit took the lease). */
  get epoch(): number {
    return this._epoch;
  }

  /** A new run's start, until its first commit took the lease: that commit goes with epoch null and this spec. */
  get start(): StartSpec | undefined {
    return this._start;
  }

  /** The replay holds (or held) the lease: false until a new run's first commit takes it. */
  get acquired(): boolean {
    return this._acquired;
  }

  /** Renewal found another owner: stop writing. */
  get lost(): boolean {
    return this._lost;
  }

  /** A commit released it (the epoch still fences this replay's writes). */
  get released(): boolean {
    return this._released;
  }

  /**
   * May the replay run steps before their start is recorded? With the lease
   * held, or for a new run on its first job's first delivery (the start commit
   * is refused, writing nothing, if another worker started the run meanwhile);
   * not once it is released or lost.
   */
  get mayRunAhead(): boolean {
    return (this._acquired || (this._start !== undefined && this.firstDelivery)) && !this._released && !this._lost;
  }

  /** Renews the lease every third of its time to live until released or stopped (idempotent; a held lease only). */
  startRenewing(): void {
    this.renewal ??= setInterval(() => {
      if (this._released) return;
      this.store.renewLease(this.runId, this.owner, this.ttlMs).then(
        (ok) => (this._lost ||= !ok && !this._released),
        () => undefined,
      );
    }, Math.max(Math.floor(this.ttlMs / 3), MIN_RENEW_MS));
  }

  /**
   * A new run's first commit succeeded and took the lease: later commits are
   * fenced by its epoch. Renewing starts unless that commit released it too.
   */
  takeStart(reply: CommitReply): void {
    this._epoch = reply.epoch!;
    this._start = undefined;
    this._acquired = true;
    if (!reply.released) this.startRenewing();
  }

  /** A commit made with `releaseOwner` says whether it released the lease. */
  noteReleased(reply: CommitReply): void {
    this._released ||= reply.released;
  }

  /** Stops renewing. */
  stop(): void {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = undefined;
  }

  /**
   * The end of the replay: stops renewing and, if no commit released the
   * lease, releases it, recording `cursor` as the last event consumed. Never
   * throws (a lease left behind expires). Returns undefined when there was
   * nothing to release (the usual case: a commit released it), so the caller
   * awaits nothing then.
   */
  release(cursor: string): Promise<void> | undefined {
    this.stop();
    if (!this._acquired || this._released) return undefined;
    return this.store.releaseRun(this.runId, this.owner, this._epoch, cursor).then(
      () => undefined,
      () => undefined,
    );
  }
}
