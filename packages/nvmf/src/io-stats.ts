/**
 * I/O statistics kept on the objects that exist anyway: each qpair counts its own I/O commands in
 * number fields, updated in place on completion (no allocation per I/O); a controller adds the
 * counts of its qpairs that have gone, a subsystem those of its controllers that have gone. Read
 * by management (`nvmf_get_stats`, Prometheus) by summing, never on the I/O path.
 */
export class IoCounters {
  /** Read commands completed (any status). */
  readOps = 0;
  /** Write commands completed (any status). */
  writeOps = 0;
  /** Other I/O commands completed (Flush, Write Zeroes, Dataset Management, ...). */
  otherOps = 0;
  /** Bytes of successful reads and writes. */
  readBytes = 0;
  writeBytes = 0;
  /** I/O commands completed with a non-zero status. */
  errors = 0;
  /**
   * Sum of I/O latencies (submission to completion) in microseconds, by Little's law: the
   * commands in flight, integrated over time by `Target.sampleInflight` (a management timer), so
   * the I/O path reads no clock. An estimate as good as the sampling period is short against the
   * load's changes.
   */
  latencyUs = 0;

  /** Mean I/O latency in microseconds (0 before the first I/O). */
  get meanLatencyUs(): number {
    const ops = this.ops;
    return ops === 0 ? 0 : this.latencyUs / ops;
  }

  /** All I/O commands completed. */
  get ops(): number {
    return this.readOps + this.writeOps + this.otherOps;
  }

  /** Add `o`'s counts to these. */
  add(o: IoCounters): this {
    this.readOps += o.readOps;
    this.writeOps += o.writeOps;
    this.otherOps += o.otherOps;
    this.readBytes += o.readBytes;
    this.writeBytes += o.writeBytes;
    this.errors += o.errors;
    this.latencyUs += o.latencyUs;
    return this;
  }
}
