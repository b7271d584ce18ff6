// Public API of @nvmu/perf: the nvmu-perf engine as functions, for benches and tests.
export { runPerf } from './run.js';
export type { HistogramRow, LatencySummary, PerfHooks, PerfPhase, PerfNamespaceResult, PerfProgress, PerfResults } from './run.js';
export { DEFAULT_PERF_OPTIONS, PerfArgsError, USAGE, WORKLOADS, parsePerfArgs, parseSize, resolvePerfOptions } from './args.js';
export type { ParsedPerfArgs, PerfOptions, Workload } from './args.js';
export { HISTOGRAM_BUCKETS, LatencyHistogram, bucketHigh, bucketIndex, bucketLow } from './histogram.js';
export type { HistogramBucket } from './histogram.js';
export { checkBlocks, describeMismatch, stampBlocks } from './verify.js';
export type { VerifyMismatch } from './verify.js';
export { formatHistogram, formatJson, formatProgress, formatResults } from './format.js';
export { perfMain } from './cli.js';
export type { PerfStreams } from './cli.js';
