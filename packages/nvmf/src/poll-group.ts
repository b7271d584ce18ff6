/**
 * Poll groups (SPDK's spdk_nvmf_poll_group): each qpair belongs to exactly one group, which owns
 * its execution. Today every group runs on the main event loop; the assignment point
 * (`Target.createQPair`) and the per-group bookkeeping are where worker-thread groups plug in.
 */
import type { CoreQPair } from './qpair.js';

export interface PollGroupStats {
  id: number;
  /** qpairs currently in the group. */
  qpairs: number;
  /** Commands submitted by qpairs of this group that have since closed, plus the live ones. */
  submitted: number;
}

export class PollGroup {
  readonly id: number;
  readonly qpairs = new Set<CoreQPair>();
  private submittedClosed = 0;

  constructor(id: number) {
    this.id = id;
  }

  add(qp: CoreQPair): void {
    this.qpairs.add(qp);
  }

  remove(qp: CoreQPair): void {
    if (this.qpairs.delete(qp)) this.submittedClosed += qp.submitted;
  }

  stats(): PollGroupStats {
    let submitted = this.submittedClosed;
    for (const qp of this.qpairs) submitted += qp.submitted;
    return { id: this.id, qpairs: this.qpairs.size, submitted };
  }
}
