/**
 * The load generator: connects the controllers, gives every namespace `-P` I/O qpairs and `-q`
 * preallocated slots, and keeps every slot busy until the time (or --io-count) is up — like
 * spdk_nvme_perf's `work_fn` with its per-namespace `ns_worker_ctx` and per-task buffers.
 *
 * Per I/O nothing is allocated: a slot owns its buffer (and a Uint32Array view for --verify),
 * submission goes through the client's callback path (`qpair.submitRead/submitWrite` with one
 * shared callback and the slot as context), latency is two `performance.now()` doubles, and the
 * histogram is a preallocated typed array.
 */
import { performance } from 'node:perf_hooks';
import {
  type Controller,
  type IoCallback,
  type Namespace,
  type NvmeError,
  NvmeCommandAbortedError,
  type QPair,
  type TransportId,
  connect,
  formatTransportId,
} from '@nvmu/client';
import { type PerfOptions, PerfArgsError, resolvePerfOptions } from './args.js';
import { LatencyHistogram } from './histogram.js';
import { type VerifyMismatch, checkBlocks, describeMismatch, stampBlocks } from './verify.js';

/** What a phase of a job does. */
export type PerfPhase =
  /** --verify before a reading workload: write the pattern over the namespace, untimed. */
  | 'prefill'
  /** -a: the workload, unmeasured, so JIT compilation and cold caches stay out of the figures. */
  | 'warmup'
  /** The measured workload. */
  | 'run'
  /** --verify after a write-only workload: read back every unit written, untimed. */
  | 'readback';

/** Latency summary in microseconds. */
export interface LatencySummary {
  readonly avg: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

/** Latency histogram bucket, microseconds (-L). */
export interface HistogramRow {
  readonly lowUs: number;
  readonly highUs: number;
  readonly count: number;
  readonly cumulativePercent: number;
}

/** Results of one namespace (or the total). */
export interface PerfNamespaceResult {
  /** Label like spdk_nvme_perf's: `TCP (addr:127.0.0.1:4420 subnqn:...) NSID 1`. */
  readonly name: string;
  /** Controller's transport ID in SPDK notation ('' for the total). */
  readonly trid: string;
  /** Namespace id (0 for the total). */
  readonly nsid: number;
  /** Completed I/Os (errors included). */
  readonly ios: number;
  readonly reads: number;
  readonly writes: number;
  /** Bytes moved by successful I/Os. */
  readonly bytes: number;
  /** I/Os that completed with an error or were aborted. */
  readonly errors: number;
  /** Blocks that failed --verify. */
  readonly verifyMismatches: number;
  readonly iops: number;
  readonly mibps: number;
  readonly latencyUs: LatencySummary;
  /** Non-empty latency buckets (only with -L). */
  readonly histogram?: readonly HistogramRow[] | undefined;
}

/** Everything a run produced; `--json` prints exactly this. */
export interface PerfResults {
  /** Schema version of this object. */
  readonly version: 1;
  readonly tool: 'nvmu-perf';
  readonly config: {
    readonly trids: readonly string[];
    readonly workload: PerfOptions['workload'];
    readonly readPercent: number;
    readonly ioSize: number;
    /** Outstanding I/Os per namespace actually used (may be below -q when queues are smaller). */
    readonly queueDepth: number;
    readonly qpairsPerNamespace: number;
    readonly timeSeconds: number;
    readonly warmupSeconds: number;
    readonly verify: boolean;
    readonly seed: number;
    readonly ioCount: number | null;
  };
  /** Wall time of the measured phase, seconds. */
  readonly elapsedSeconds: number;
  /** CPU time of this process during the measured phase (process.cpuUsage), microseconds. */
  readonly cpu: { readonly userUs: number; readonly systemUs: number; readonly perIoUs: number };
  readonly namespaces: readonly PerfNamespaceResult[];
  readonly total: PerfNamespaceResult;
  readonly verify: {
    readonly enabled: boolean;
    /** Blocks checked by reads (workload reads plus the read-back after write workloads). */
    readonly blocksChecked: number;
    readonly mismatches: number;
    /** The first mismatches (up to 16), for the report. */
    readonly firstMismatches: readonly VerifyMismatch[];
  };
  /** The first I/O errors (up to 16 messages). */
  readonly firstErrors: readonly string[];
  /** True when I/O completed, without errors and without verify mismatches. */
  readonly ok: boolean;
}

/** A once-a-second snapshot for the progress line. */
export interface PerfProgress {
  readonly phase: PerfPhase;
  readonly elapsedSeconds: number;
  readonly timeSeconds: number;
  /** IOPS and MiB/s over the last interval. */
  readonly iops: number;
  readonly mibps: number;
  /** Totals so far in this phase. */
  readonly ios: number;
  readonly errors: number;
  readonly verifyMismatches: number;
}

/** Hooks of {@link runPerf}. */
export interface PerfHooks {
  /** Called about once a second while I/O runs. */
  readonly onProgress?: ((p: PerfProgress) => void) | undefined;
  /** Aborting stops submission; outstanding I/Os drain and the results so far are returned. */
  readonly signal?: AbortSignal | undefined;
}

const MAX_REPORTED = 16;
const TWO_32 = 0x1_0000_0000;

/** One I/O in flight, reused for the whole run. */
class Slot {
  lba = 0;
  isRead = false;
  startMs = 0;
  readonly words: Uint32Array;
  constructor(
    readonly job: Job,
    readonly qpair: QPair,
    readonly buf: Uint8Array,
  ) {
    this.words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  }
}

/** One namespace's worker: its qpairs, slots, counters and histogram. */
class Job {
  readonly histogram = new LatencyHistogram();
  readonly slots: Slot[] = [];
  readonly nlb: number;
  readonly blockWords: number;
  /** I/O units (of ioSize) in the namespace. */
  readonly units: number;
  phase: PerfPhase = 'run';
  cursor = 0;
  submitted = 0;
  outstanding = 0;
  ios = 0;
  reads = 0;
  writes = 0;
  bytes = 0;
  errors = 0;
  mismatches = 0;
  blocksChecked = 0;
  /** Submission failed or a command was aborted: this job's qpair is unusable. */
  failed = false;
  /** Units written during a write-only run with --verify (bit per unit), for the read-back. */
  written: Uint32Array | undefined;
  private rng: number;

  constructor(
    readonly ctrl: Controller,
    readonly ns: Namespace,
    readonly name: string,
    readonly trid: string,
    ioSize: number,
    seed: number,
  ) {
    this.nlb = ioSize / ns.blockSize;
    this.blockWords = ns.blockSize >>> 2;
    this.units = Math.floor(ns.blockCount / this.nlb);
    // xorshift32 needs a non-zero state; mix the nsid in so namespaces differ.
    this.rng = (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) ^ ns.nsid) >>> 0 || 1;
  }

  /** Uniform 32-bit random (xorshift32), allocation free. */
  next32(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  /** A random unit index in [0, units). */
  randomUnit(): number {
    const u = this.units;
    if (u <= TWO_32) return Math.floor((this.next32() / TWO_32) * u);
    const r = (this.next32() * 2 ** 21 + (this.next32() >>> 11)) / 2 ** 53;
    return Math.floor(r * u);
  }

  markWritten(unit: number): void {
    const w = this.written;
    if (w === undefined) return;
    const i = unit >>> 5;
    w[i] = ((w[i] ?? 0) | (1 << (unit & 31))) >>> 0;
  }

  wasWritten(unit: number): boolean {
    const w = this.written;
    return w !== undefined && ((w[unit >>> 5] ?? 0) & (1 << (unit & 31))) !== 0;
  }

  resetCounters(): void {
    this.cursor = 0;
    this.submitted = 0;
  }
}

function latencySummary(h: LatencyHistogram): LatencySummary {
  const us = (ns: number): number => ns / 1000;
  return {
    avg: us(h.meanNs),
    min: h.count === 0 ? 0 : us(h.minNs),
    max: us(h.maxNs),
    p50: us(h.percentile(50)),
    p90: us(h.percentile(90)),
    p99: us(h.percentile(99)),
    p999: us(h.percentile(99.9)),
  };
}

function histogramRows(h: LatencyHistogram): HistogramRow[] {
  return h.buckets().map((b) => ({ lowUs: b.lowNs / 1000, highUs: (b.highNs + 1) / 1000, count: b.count, cumulativePercent: b.cumulativePercent }));
}

/** spdk_nvme_perf's device label: `TCP (addr:127.0.0.1:4420 subnqn:...) NSID 1`. */
function deviceName(trid: TransportId, nsid: number): string {
  const addr = trid.trsvcid === undefined || trid.trsvcid === '' ? trid.traddr : `${trid.traddr}:${trid.trsvcid}`;
  return `${trid.trtype.toUpperCase()} (addr:${addr} subnqn:${trid.subnqn ?? ''}) NSID ${nsid}`;
}

/**
 * The engine: drives a set of jobs through phases. Kept apart from `runPerf()` so the per-I/O
 * methods are monomorphic and the callback is one function made once.
 */
class Engine {
  private readonly jobs: Job[];
  private readonly o: PerfOptions;
  private readonly onDone: IoCallback<Slot>;
  private phaseEndMs = Infinity;
  private aborted = false;
  private starting = false;
  private busyJobs = 0;
  private resolvePhase: (() => void) | undefined;
  readonly firstErrors: string[] = [];
  readonly firstMismatches: VerifyMismatch[] = [];

  constructor(jobs: Job[], o: PerfOptions) {
    this.jobs = jobs;
    this.o = o;
    this.onDone = (error, slot) => {
      this.complete(error, slot);
    };
  }

  /** Stops submitting; outstanding I/Os drain and the phase ends. */
  stop(): void {
    this.aborted = true;
  }

  /** Runs every job's slots in `phase` until done; resolves once all I/Os drained. */
  runPhase(phase: PerfPhase, endMs: number): Promise<void> {
    this.phaseEndMs = endMs;
    return new Promise<void>((resolve) => {
      this.resolvePhase = resolve;
      // Completions never arrive from inside submit (HostQPairHandler contract), but a failed
      // submission ends a job synchronously: count busy jobs only after starting them all.
      this.starting = true;
      for (const job of this.jobs) {
        job.phase = phase;
        job.resetCounters();
        for (const slot of job.slots) {
          if (!this.shouldSubmit(job, performance.now())) break;
          this.submit(slot);
        }
      }
      this.starting = false;
      this.busyJobs = 0;
      for (const job of this.jobs) if (job.outstanding > 0) this.busyJobs++;
      if (this.busyJobs === 0) {
        this.resolvePhase = undefined;
        resolve();
      }
    });
  }

  private shouldSubmit(job: Job, nowMs: number): boolean {
    if (job.failed || this.aborted) return false;
    switch (job.phase) {
      case 'warmup':
        return nowMs < this.phaseEndMs;
      case 'run':
        return nowMs < this.phaseEndMs && (this.o.ioCount === undefined || job.submitted < this.o.ioCount);
      case 'prefill':
        return job.cursor < job.units;
      case 'readback':
        while (job.cursor < job.units && !job.wasWritten(job.cursor)) job.cursor++;
        return job.cursor < job.units;
    }
  }

  /** Picks the next I/O for `slot` and submits it. */
  private submit(slot: Slot): void {
    const job = slot.job;
    const o = this.o;
    let unit: number;
    let isRead: boolean;
    if (job.phase === 'run' || job.phase === 'warmup') {
      isRead = o.readPercent === 100 || (o.readPercent > 0 && job.next32() % 100 < o.readPercent);
      if (o.workload === 'read' || o.workload === 'write' || o.workload === 'rw') {
        unit = job.cursor;
        job.cursor = job.cursor + 1 >= job.units ? 0 : job.cursor + 1;
      } else {
        unit = job.randomUnit();
      }
    } else {
      isRead = job.phase === 'readback';
      unit = job.cursor++;
    }
    const lba = unit * job.nlb;
    slot.lba = lba;
    slot.isRead = isRead;
    if (!isRead && o.verify) {
      stampBlocks(slot.words, job.blockWords, lba, job.nlb, o.seed, job.ns.nsid);
      if (job.phase === 'run' || job.phase === 'warmup') job.markWritten(unit);
    }
    job.submitted++;
    job.outstanding++;
    slot.startMs = performance.now();
    try {
      if (isRead) slot.qpair.submitRead(job.ns, lba, job.nlb, slot.buf, this.onDone, slot);
      else slot.qpair.submitWrite(job.ns, lba, job.nlb, slot.buf, this.onDone, slot);
    } catch (e) {
      // Submission failed (qpair gone, queue full): this job stops; its outstanding I/Os drain.
      job.outstanding--;
      job.errors++;
      job.failed = true;
      this.noteError(`${job.name}: submit failed: ${e instanceof Error ? e.message : String(e)}`);
      if (job.outstanding === 0) this.jobIdle();
    }
  }

  private complete(error: NvmeError | undefined, slot: Slot): void {
    const now = performance.now();
    const job = slot.job;
    job.outstanding--;
    if (job.phase === 'run') {
      job.histogram.record((now - slot.startMs) * 1e6);
      job.ios++;
      if (slot.isRead) job.reads++;
      else job.writes++;
    }
    if (error !== undefined) {
      job.errors++;
      this.noteError(`${job.name}: ${error.message}`);
      // Aborted commands mean the qpair or controller is gone: stop this job.
      if (error instanceof NvmeCommandAbortedError) job.failed = true;
    } else {
      if (job.phase === 'run') job.bytes += slot.buf.byteLength;
      if (slot.isRead && this.o.verify) this.check(slot);
    }
    if (this.shouldSubmit(job, now)) this.submit(slot);
    else if (job.outstanding === 0) this.jobIdle();
  }

  private check(slot: Slot): void {
    const job = slot.job;
    job.blocksChecked += job.nlb;
    const bad = checkBlocks(slot.words, job.blockWords, slot.lba, job.nlb, this.o.seed, job.ns.nsid);
    if (bad < 0) return;
    // Count every bad block of this I/O; describe the first few (error path, allocates).
    for (let b = bad; b < job.nlb; b++) {
      const m = describeMismatchIfBad(slot, b, this.o.seed);
      if (m === undefined) continue;
      job.mismatches++;
      if (this.firstMismatches.length < MAX_REPORTED) this.firstMismatches.push(m);
    }
  }

  private noteError(msg: string): void {
    if (this.firstErrors.length < MAX_REPORTED) this.firstErrors.push(msg);
  }

  private jobIdle(): void {
    if (this.starting) return;
    this.busyJobs--;
    if (this.busyJobs === 0) {
      const r = this.resolvePhase;
      this.resolvePhase = undefined;
      // Leave the completion callback before the caller continues.
      if (r !== undefined) setImmediate(r);
    }
  }
}

/** The mismatch of block `b` of a slot's buffer, or undefined when that block is intact. */
function describeMismatchIfBad(slot: Slot, b: number, seed: number): VerifyMismatch | undefined {
  const job = slot.job;
  const words = slot.words.subarray(b * job.blockWords, (b + 1) * job.blockWords);
  if (checkBlocks(words, job.blockWords, slot.lba + b, 1, seed, job.ns.nsid) < 0) return undefined;
  return describeMismatch(words, job.blockWords, 0, slot.lba + b, seed, job.ns.nsid);
}

function jobResult(job: Job, elapsed: number, withHistogram: boolean): PerfNamespaceResult {
  const iops = elapsed > 0 ? job.ios / elapsed : 0;
  return {
    name: job.name,
    trid: job.trid,
    nsid: job.ns.nsid,
    ios: job.ios,
    reads: job.reads,
    writes: job.writes,
    bytes: job.bytes,
    errors: job.errors,
    verifyMismatches: job.mismatches,
    iops,
    mibps: elapsed > 0 ? job.bytes / elapsed / 1024 / 1024 : 0,
    latencyUs: latencySummary(job.histogram),
    histogram: withHistogram ? histogramRows(job.histogram) : undefined,
  };
}

/**
 * Runs nvmu-perf in-process and returns its results (what `--json` prints). The host transports
 * the trids name must be registered (nvmu-perf's `main` imports the tcp and loopback ones).
 * Throws {@link PerfArgsError} for options that do not fit the namespaces (I/O size, nsids).
 */
export async function runPerf(input: Partial<PerfOptions> & Pick<PerfOptions, 'trids'>, hooks: PerfHooks = {}): Promise<PerfResults> {
  const o = resolvePerfOptions(input);
  const trids = o.trids.map((t) => t as TransportId);
  const perQPair = Math.ceil(o.queueDepth / o.qpairsPerNamespace);
  const controllers: Controller[] = [];
  let progressTimer: NodeJS.Timeout | undefined;
  let engine: Engine | undefined;
  const onAbort = (): void => engine?.stop();
  try {
    const jobs: Job[] = [];
    let queueDepthUsed = Infinity;
    for (const trid of trids) {
      const ctrl = await connect(trid, {
        ioQueues: Math.min(0xffff, o.qpairsPerNamespace * Math.max(1, o.nsids?.length ?? 16)),
        ioQueueSize: perQPair + 1,
        reconnect: false,
        defaultIoQPair: false,
      });
      controllers.push(ctrl);
      const all = ctrl.namespaces;
      const chosen = o.nsids === undefined ? all : o.nsids.map((nsid) => {
        const ns = ctrl.namespace(nsid);
        if (ns === undefined) throw new PerfArgsError(`-N ${nsid}: no active namespace ${nsid} on ${formatTransportId(trid)} (active: ${all.map((n) => n.nsid).join(', ') || 'none'})`);
        return ns;
      });
      if (chosen.length === 0) throw new PerfArgsError(`${formatTransportId(trid)} has no active namespaces`);
      if (ctrl.maxTransferSize > 0 && o.ioSize > ctrl.maxTransferSize) {
        throw new PerfArgsError(`-o ${o.ioSize}: above the controller's maximum transfer size of ${ctrl.maxTransferSize} bytes`);
      }
      for (const ns of chosen) {
        if (o.ioSize % ns.blockSize !== 0) throw new PerfArgsError(`-o ${o.ioSize}: not a multiple of nsid ${ns.nsid}'s block size ${ns.blockSize}`);
        if (o.ioSize / ns.blockSize > 65536) throw new PerfArgsError(`-o ${o.ioSize}: more than 65536 blocks in one I/O`);
        if (o.ioSize > ns.size) throw new PerfArgsError(`-o ${o.ioSize}: larger than nsid ${ns.nsid} (${ns.size} bytes)`);
        const job = new Job(ctrl, ns, deviceName(trid, ns.nsid), formatTransportId(trid), o.ioSize, o.seed);
        // -P qpairs, -q slots dealt round-robin over them within each qpair's limit.
        const qpairs: QPair[] = [];
        for (let i = 0; i < o.qpairsPerNamespace; i++) qpairs.push(await ctrl.allocIoQPair({ queueSize: perQPair + 1 }));
        const load = new Array<number>(qpairs.length).fill(0);
        for (let s = 0, i = 0; s < o.queueDepth; s++) {
          let tries = 0;
          while (tries < qpairs.length && (load[i] ?? 0) >= (qpairs[i]?.maxOutstanding ?? 0)) {
            i = (i + 1) % qpairs.length;
            tries++;
          }
          const qp = qpairs[i];
          if (tries === qpairs.length || qp === undefined) break; // every qpair is full
          load[i] = (load[i] ?? 0) + 1;
          job.slots.push(new Slot(job, qp, new Uint8Array(o.ioSize)));
          i = (i + 1) % qpairs.length;
        }
        queueDepthUsed = Math.min(queueDepthUsed, job.slots.length);
        if (o.verify && o.readPercent === 0) job.written = new Uint32Array(Math.ceil(job.units / 32));
        jobs.push(job);
      }
    }

    engine = new Engine(jobs, o);
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    if (hooks.signal?.aborted === true) engine.stop();

    const progress = (phase: PerfPhase, startMs: number): void => {
      const onProgress = hooks.onProgress;
      if (onProgress === undefined) return;
      let lastIos = 0;
      let lastBytes = 0;
      let lastMs = startMs;
      progressTimer = setInterval(() => {
        const now = performance.now();
        let ios = 0;
        let bytes = 0;
        let errors = 0;
        let mism = 0;
        for (const j of jobs) {
          ios += phase === 'run' ? j.ios : j.submitted - j.outstanding;
          bytes += j.bytes;
          errors += j.errors;
          mism += j.mismatches;
        }
        const dt = (now - lastMs) / 1000;
        onProgress({
          phase,
          elapsedSeconds: (now - startMs) / 1000,
          timeSeconds: phase === 'warmup' ? o.warmupSeconds : o.timeSeconds,
          iops: dt > 0 ? (ios - lastIos) / dt : 0,
          mibps: dt > 0 ? (bytes - lastBytes) / dt / 1024 / 1024 : 0,
          ios,
          errors,
          verifyMismatches: mism,
        });
        lastIos = ios;
        lastBytes = bytes;
        lastMs = now;
      }, 1000);
    };
    const stopProgress = (): void => {
      if (progressTimer !== undefined) clearInterval(progressTimer);
      progressTimer = undefined;
    };

    if (o.verify && o.prefill && o.readPercent > 0) {
      progress('prefill', performance.now());
      await engine.runPhase('prefill', Infinity);
      stopProgress();
    }

    if (o.warmupSeconds > 0) {
      const w0 = performance.now();
      progress('warmup', w0);
      await engine.runPhase('warmup', w0 + o.warmupSeconds * 1000);
      stopProgress();
    }

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    progress('run', t0);
    await engine.runPhase('run', t0 + o.timeSeconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    stopProgress();

    if (o.verify && o.readPercent === 0 && hooks.signal?.aborted !== true) {
      progress('readback', performance.now());
      await engine.runPhase('readback', Infinity);
      stopProgress();
    }

    const namespaces = jobs.map((j) => jobResult(j, elapsed, o.latencyHistogram));
    const totalHist = new LatencyHistogram();
    for (const j of jobs) totalHist.add(j.histogram);
    const sum = (f: (r: PerfNamespaceResult) => number): number => namespaces.reduce((a, r) => a + f(r), 0);
    const total: PerfNamespaceResult = {
      name: 'Total',
      trid: '',
      nsid: 0,
      ios: sum((r) => r.ios),
      reads: sum((r) => r.reads),
      writes: sum((r) => r.writes),
      bytes: sum((r) => r.bytes),
      errors: sum((r) => r.errors),
      verifyMismatches: sum((r) => r.verifyMismatches),
      iops: sum((r) => r.iops),
      mibps: sum((r) => r.mibps),
      latencyUs: latencySummary(totalHist),
      histogram: o.latencyHistogram ? histogramRows(totalHist) : undefined,
    };
    const blocksChecked = jobs.reduce((a, j) => a + j.blocksChecked, 0);
    return {
      version: 1,
      tool: 'nvmu-perf',
      config: {
        trids: trids.map((t) => formatTransportId(t)),
        workload: o.workload,
        readPercent: o.readPercent,
        ioSize: o.ioSize,
        queueDepth: queueDepthUsed === Infinity ? o.queueDepth : queueDepthUsed,
        qpairsPerNamespace: o.qpairsPerNamespace,
        timeSeconds: o.timeSeconds,
        warmupSeconds: o.warmupSeconds,
        verify: o.verify,
        seed: o.seed,
        ioCount: o.ioCount ?? null,
      },
      elapsedSeconds: elapsed,
      cpu: { userUs: cpu.user, systemUs: cpu.system, perIoUs: total.ios > 0 ? (cpu.user + cpu.system) / total.ios : 0 },
      namespaces,
      total,
      verify: { enabled: o.verify, blocksChecked, mismatches: total.verifyMismatches, firstMismatches: engine.firstMismatches },
      firstErrors: engine.firstErrors,
      ok: total.ios > 0 && total.errors === 0 && total.verifyMismatches === 0,
    };
  } finally {
    if (progressTimer !== undefined) clearInterval(progressTimer);
    hooks.signal?.removeEventListener('abort', onAbort);
    await Promise.allSettled(controllers.map((c) => c.close()));
  }
}
