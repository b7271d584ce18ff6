/** What the bench's child processes (target, raw server) answer to a "stats" line. */
export interface ChildStats {
  /** User + system CPU time of the process so far, µs (process.cpuUsage()). */
  readonly cpuUs: number;
  /** Requests served so far (target: commands taken in; raw server: requests answered). */
  readonly ios: number;
  readonly mem: NodeJS.MemoryUsage;
  /** The TCP transport's malloc_trim calls after connections closed, and their time in µs. */
  readonly memoryTrims?: number;
  readonly memoryTrimUs?: number;
  /** Wall time of the full GC run before these figures ("stats gc" / "stats gc-all"), ms: the event loop was blocked that long. */
  readonly gcMs?: number;
}

/** Subsystem NQN of the bench target. */
export const BENCH_NQN = 'nqn.2026-11.io.nvmu:bench';
