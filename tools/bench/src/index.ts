export {
  DEFAULT_BENCH_OPTIONS,
  DEFAULT_WORKLOADS,
  PERF_MAIN,
  RAW_CLIENT,
  RAW_SERVER,
  SHM_CLIENT,
  SHM_SERVER,
  TARGET_CHILD,
  benchTrid,
  perfArgs,
  profileTarget,
  rawClientArgs,
  shmClientArgs,
  runBench,
  runNvmu,
  runRaw,
  runSoak,
  startRawServer,
  startShmServer,
  startTarget,
  withVfioUserTarget,
} from './bench.js';
export type {
  BenchOptions,
  BenchResult,
  BenchTarget,
  MemorySample,
  MinMax,
  PairResult,
  ProfileResult,
  RunFigures,
  SoakResult,
  WorkloadResult,
  WorkloadSpec,
} from './bench.js';
export { ServerChild, detectPinning, freePort, pinnedCommand, runToEnd } from './child.js';
export type { Pinning } from './child.js';
export { formatMarkdown, formatProfile, formatTable } from './format.js';
export { topSelfTime } from './profile.js';
export type { CpuProfile, SelfTimeRow } from './profile.js';
export { BENCH_NQN } from './protocol.js';
export type { ChildStats } from './protocol.js';
export { AllocationWindow, machineInfo, median, procCpuSeconds, slope } from './stats.js';
export type { MachineInfo } from './stats.js';
