/**
 * Coalesces the commits of the runs one worker replays at the same time into
 * one script call (commitReplayBatch.lua): with many replays in flight, their
 * commits tend to be issued in the same turn of the event loop, and one round
 * trip for all of them costs the worker and Redis far less than one each.
 * A commit issued alone goes as a plain commitReplay. Each caller still gets
 * its own reply or typed error.
 */
import type { Store } from '../redis/store.js';
import type { CommitOp, CommitOptions, CommitReply, CommitRequest } from '../redis/store-types.js';

interface Pending {
  req: CommitRequest;
  resolve: (r: CommitReply) => void;
  reject: (e: unknown) => void;
}

/** Batches {@link Store.commit} calls made in the same event-loop turn. */
export class CommitBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    /** Most commits in one script call (bounds the script's run time). */
    private readonly maxBatch = 32,
  ) {}

  /** Same contract as {@link Store.commit}. */
  commit(runId: string, epoch: number | null, ops: CommitOp[], cursor = '', opts: CommitOptions = {}): Promise<CommitReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { runId, epoch, ops, cursor, opts }, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current I/O callbacks: the replays they resumed have issued their commits by then.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.queue;
    this.queue = [];
    for (let i = 0; i < all.length; i += this.maxBatch) this.send(all.slice(i, i + this.maxBatch));
  }

  private send(batch: Pending[]): void {
    if (batch.length === 1) {
      const { req, resolve, reject } = batch[0]!;
      this.store.commit(req.runId, req.epoch, req.ops, req.cursor, req.opts).then(resolve, reject);
      return;
    }
    this.store.commitBatch(batch.map((p) => p.req)).then(
      (settled) =>
        settled.forEach((s, i) => {
          if (s.status === 'fulfilled') batch[i]!.resolve(s.value);
          else batch[i]!.reject(s.reason);
        }),
      (err) => batch.forEach((p) => p.reject(err)),
    );
  }
}
