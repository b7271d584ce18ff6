/**
 * Command line of nvmu-perf, modelled on spdk_nvme_perf (app/spdk_nvme_perf/perf.c `usage()`):
 * the same one-letter flags where SPDK has them (-r -q -o -w -M -t -P -L -N), long options for
 * what is nvmu's own (--verify, --seed, --no-prefill, --io-count, --json, --no-progress).
 */
import { parseArgs } from 'node:util';
import { type TransportId, TransportIdError, parseTransportId } from '@nvmu/client';

/** I/O pattern (-w), as spdk_nvme_perf spells them. */
export type Workload = 'read' | 'write' | 'randread' | 'randwrite' | 'rw' | 'randrw';

export const WORKLOADS: readonly Workload[] = ['read', 'write', 'randread', 'randwrite', 'rw', 'randrw'];

/** Everything a run needs; `runPerf()` takes it (fields with defaults may be left out). */
export interface PerfOptions {
  /** Controllers to drive (-r, repeatable). */
  readonly trids: readonly (TransportId | string)[];
  /** Outstanding I/Os per namespace (-q), spread over its qpairs. */
  readonly queueDepth: number;
  /** Bytes per I/O (-o); a multiple of the namespace's block size. */
  readonly ioSize: number;
  /** I/O pattern (-w). */
  readonly workload: Workload;
  /** Percentage of reads for rw/randrw (-M); 100 for read workloads, 0 for write workloads. */
  readonly readPercent: number;
  /** Run time in seconds (-t). */
  readonly timeSeconds: number;
  /** Seconds of unmeasured I/O before the measured run (-a, SPDK's warm-up time); 0 = none. */
  readonly warmupSeconds: number;
  /** I/O qpairs per namespace (-P). */
  readonly qpairsPerNamespace: number;
  /** Stamp written blocks with their LBA and the seed and check every read (--verify). */
  readonly verify: boolean;
  /** Seed of the verify pattern and of the random offsets (--seed). */
  readonly seed: number;
  /**
   * With --verify, write the pattern over every namespace before a workload that reads
   * (default true; --no-prefill checks data an earlier run with the same seed wrote).
   */
  readonly prefill: boolean;
  /** Stop each namespace after this many I/Os (--io-count), or when the time is up. */
  readonly ioCount: number | undefined;
  /** Print the latency bucket table (-L). */
  readonly latencyHistogram: boolean;
  /** Namespaces to drive (-N, repeatable or comma separated); undefined = all active ones. */
  readonly nsids: readonly number[] | undefined;
  /** Results as JSON on stdout (--json). */
  readonly json: boolean;
  /** The once-a-second progress line on stderr (off with --no-progress). */
  readonly progress: boolean;
  /**
   * NVMe/TCP low-latency mode (--busy-poll): each TCP controller's connections poll their
   * socket for up to this many microseconds after submitting (its trid's `busypoll:<us>`,
   * which an explicit `busypoll:` in the trid overrides). Undefined or 0: off.
   */
  readonly busyPollUs: number | undefined;
}

/** Defaults of everything but `trids`. */
export const DEFAULT_PERF_OPTIONS: Omit<PerfOptions, 'trids'> = {
  queueDepth: 32,
  ioSize: 4096,
  workload: 'randread',
  readPercent: 100,
  timeSeconds: 10,
  warmupSeconds: 0,
  qpairsPerNamespace: 1,
  verify: false,
  seed: 1,
  prefill: true,
  ioCount: undefined,
  latencyHistogram: false,
  nsids: undefined,
  json: false,
  progress: true,
  busyPollUs: undefined,
};

/** A bad command line; the message says which flag and why. */
export class PerfArgsError extends Error {
  override readonly name = 'PerfArgsError';
  readonly code = 'ERR_NVMU_PERF_ARGS';
}

export const USAGE = `usage: nvmu-perf -r <transport ID> [-r ...] [options]

  -r <trid>      controller in SPDK notation, repeatable, e.g.
                 'trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2026-01.io.nvmu:cnode1'
  -q <depth>     outstanding I/Os per namespace (default 32)
  -o <bytes>     I/O size in bytes, k/m suffixes allowed (default 4096)
  -w <pattern>   read, write, randread, randwrite, rw, randrw (default randread)
  -M <percent>   read percentage of rw/randrw (default 50)
  -t <seconds>   run time (default 10)
  -a <seconds>   warm-up time: I/O before the measured run, not counted (default 0)
  -P <number>    I/O qpairs per namespace (default 1)
  -N, --nsid <n> namespace to drive, repeatable or comma separated (default: all)
  -L             print the latency histogram (bucket table)
  --verify       stamp each block with its LBA and the seed, check every read
  --seed <n>     seed of the verify pattern and random offsets (default 1)
  --no-prefill   with --verify: do not write the pattern first (check an earlier run's data)
  --io-count <n> stop each namespace after n I/Os
  --json         print the results as JSON on stdout
  --no-progress  no progress line on stderr
  --busy-poll <us>  NVMe/TCP low-latency mode: poll the socket for up to <us> microseconds
                 after submitting (the trid's busypoll:<us>); 0 = off (default)
  -h, --help     this text

Exit status: 0 on success, 1 when I/O failed or --verify found a mismatch, 2 on bad arguments.
`;

/** Result of parsing: options to run, or a request for help. */
export type ParsedPerfArgs = { readonly kind: 'run'; readonly options: PerfOptions } | { readonly kind: 'help' };

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new PerfArgsError(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new PerfArgsError(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  return n;
}

/** Parses a byte count: digits with an optional k/m/g suffix (binary units, like SPDK's -o 4k). */
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+)([kmg]?)(i?b)?$/i.exec(text.trim());
  if (m === null) throw new PerfArgsError(`${flag} ${text}: expected a size in bytes (e.g. 4096, 4k, 1m)`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n < 1) throw new PerfArgsError(`${flag} ${text}: expected a size of at least 1 byte`);
  return n;
}

function seconds(flag: string, text: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new PerfArgsError(`${flag} ${text}: expected a number of seconds above 0`);
  return n;
}

function parseNsids(values: readonly string[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const nsid = integer('-N', part, 1, 0xfffffffe);
      if (!out.includes(nsid)) out.push(nsid);
    }
  }
  return out;
}

/**
 * Checks and completes options given as an object (the in-process API): defaults filled,
 * the same checks and messages as the command line.
 */
export function resolvePerfOptions(input: Partial<PerfOptions> & Pick<PerfOptions, 'trids'>): PerfOptions {
  const o: PerfOptions = { ...DEFAULT_PERF_OPTIONS, ...input };
  if (o.trids.length === 0) throw new PerfArgsError('no controller given: pass -r <transport ID>');
  const check = (flag: string, v: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new PerfArgsError(`${flag} ${v}: expected an integer from ${min} to ${max}`);
  };
  if (o.busyPollUs !== undefined) check('--busy-poll', o.busyPollUs, 0, 10_000);
  const busyPoll = o.busyPollUs === undefined ? undefined : String(o.busyPollUs);
  const trids = o.trids.map((t) => {
    try {
      const trid = parseTransportId(t);
      if (busyPoll === undefined || trid.trtype !== 'tcp' || trid.params?.busypoll !== undefined) return trid;
      return { ...trid, params: { ...trid.params, busypoll: busyPoll } };
    } catch (e) {
      if (e instanceof TransportIdError) throw new PerfArgsError(`-r ${typeof t === 'string' ? `'${t}'` : JSON.stringify(t)}: ${e.message}`);
      throw e;
    }
  });
  if (!WORKLOADS.includes(o.workload)) throw new PerfArgsError(`-w ${o.workload}: expected one of ${WORKLOADS.join(', ')}`);
  check('-q', o.queueDepth, 1, 65535);
  check('-o', o.ioSize, 1, 2 ** 30);
  check('-P', o.qpairsPerNamespace, 1, 65535);
  check('-M', o.readPercent, 0, 100);
  check('--seed', o.seed, 0, 0xffffffff);
  if (o.ioCount !== undefined) check('--io-count', o.ioCount, 1, Number.MAX_SAFE_INTEGER);
  if (!(o.timeSeconds > 0) || !Number.isFinite(o.timeSeconds)) throw new PerfArgsError(`-t ${o.timeSeconds}: expected a number of seconds above 0`);
  if (!(o.warmupSeconds >= 0) || !Number.isFinite(o.warmupSeconds)) throw new PerfArgsError(`-a ${o.warmupSeconds}: expected a number of seconds, 0 or more`);
  if (o.qpairsPerNamespace > o.queueDepth) {
    throw new PerfArgsError(`-P ${o.qpairsPerNamespace} is above -q ${o.queueDepth}: every qpair needs at least one outstanding I/O`);
  }
  const readPercent = o.workload === 'read' || o.workload === 'randread' ? 100 : o.workload === 'write' || o.workload === 'randwrite' ? 0 : o.readPercent;
  return { ...o, trids, readPercent };
}

/** Parses nvmu-perf's arguments (without `node` and the script). Throws {@link PerfArgsError}. */
export function parsePerfArgs(argv: readonly string[]): ParsedPerfArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        r: { type: 'string', short: 'r', multiple: true },
        q: { type: 'string', short: 'q' },
        o: { type: 'string', short: 'o' },
        w: { type: 'string', short: 'w' },
        M: { type: 'string', short: 'M' },
        t: { type: 'string', short: 't' },
        a: { type: 'string', short: 'a' },
        P: { type: 'string', short: 'P' },
        nsid: { type: 'string', short: 'N', multiple: true },
        L: { type: 'boolean', short: 'L', multiple: true },
        verify: { type: 'boolean' },
        seed: { type: 'string' },
        'no-prefill': { type: 'boolean' },
        'io-count': { type: 'string' },
        json: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        'busy-poll': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // node:util's messages name the option; keep them, minus Node's error-code noise.
    throw new PerfArgsError(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e));
  }
  const v = parsed.values;
  if (v.help === true) return { kind: 'help' };
  if (parsed.positionals.length > 0) throw new PerfArgsError(`unexpected argument '${parsed.positionals[0] ?? ''}'`);
  const workloadText = v.w?.trim().toLowerCase();
  if (workloadText !== undefined && !(WORKLOADS as readonly string[]).includes(workloadText)) {
    throw new PerfArgsError(`-w ${v.w ?? ''}: expected one of ${WORKLOADS.join(', ')}`);
  }
  const workload = (workloadText ?? DEFAULT_PERF_OPTIONS.workload) as Workload;
  if (v.M !== undefined && workload !== 'rw' && workload !== 'randrw') {
    throw new PerfArgsError(`-M is only meaningful with -w rw or randrw (got -w ${workload})`);
  }
  if (v['no-prefill'] === true && v.verify !== true) throw new PerfArgsError('--no-prefill needs --verify');
  const options = resolvePerfOptions({
    trids: v.r ?? [],
    workload,
    ...(v.q !== undefined && { queueDepth: integer('-q', v.q, 1, 65535) }),
    ...(v.o !== undefined && { ioSize: parseSize('-o', v.o) }),
    readPercent: v.M !== undefined ? integer('-M', v.M, 0, 100) : 50,
    ...(v.t !== undefined && { timeSeconds: seconds('-t', v.t) }),
    ...(v.a !== undefined && { warmupSeconds: v.a.trim() === '0' ? 0 : seconds('-a', v.a) }),
    ...(v.P !== undefined && { qpairsPerNamespace: integer('-P', v.P, 1, 65535) }),
    ...(v.nsid !== undefined && { nsids: parseNsids(v.nsid) }),
    latencyHistogram: (v.L?.length ?? 0) > 0,
    verify: v.verify === true,
    ...(v.seed !== undefined && { seed: integer('--seed', v.seed, 0, 0xffffffff) }),
    prefill: v['no-prefill'] !== true,
    ...(v['io-count'] !== undefined && { ioCount: integer('--io-count', v['io-count'], 1, Number.MAX_SAFE_INTEGER) }),
    json: v.json === true,
    progress: v['no-progress'] !== true,
    ...(v['busy-poll'] !== undefined && { busyPollUs: integer('--busy-poll', v['busy-poll'], 0, 10_000) }),
  });
  return { kind: 'run', options };
}
