// Public API of @nvmu/nvmf, the NVMe-oF target core.

// The transport contract (transports import these as types only).
export type {
  AddressFamily,
  DiscoveryEntryFields,
  ListenAddress,
  QPair,
  QPairCloseReason,
  QPairCreateOptions,
  QPairState,
  QPairTransportOps,
  TargetTransport,
  TransportCore,
  TransportIdentifyFields,
  TransportLogger,
  TransportOptions,
  TransportParam,
  TransportParams,
  TransportParamValue,
} from './transport.js';
export { transportIdentifyFields } from './transport.js';
export { Request, SQE_SIZE, CQE_SIZE, MAX_IOVCNT } from './request.js';
export type { DataDirection, RequestState } from './request.js';

// The target model.
export { Target, silentLogger } from './target.js';
export type { TargetOptions, TargetStats } from './target.js';
export { Subsystem, NvmfConfigError, sameAddress, trtypeKey } from './subsystem.js';
export type { SubsystemOptions, SubsystemState, AnaState, SubsystemDescription } from './subsystem.js';
export { Namespace } from './namespace.js';
export type { NamespaceOptions, NamespaceState } from './namespace.js';
export { Controller, AsyncEvent, AecBit, CTRLR_LIMITS, NVME_VERSION } from './controller.js';
export type { ControllerState, ErrorLogEntry } from './controller.js';
export type { PollGroupStats } from './poll-group.js';
export { IoCounters } from './io-stats.js';
export { DISCOVERY_NQN, NQN_MAX_BYTES, isValidNqn, nqnProblem, assertNqn, InvalidNqnError } from './nqn.js';

// Block devices.
export { BdevBase, BdevStatus } from './bdev/bdev.js';
export type { Bdev, BdevCallback, BdevEvent, BlockSize } from './bdev/bdev.js';
export { MallocBdev } from './bdev/malloc.js';
export type { MallocBdevOptions } from './bdev/malloc.js';
export { NullBdev } from './bdev/null.js';
export type { NullBdevOptions } from './bdev/null.js';
export { FileBdev } from './bdev/file.js';
export type { FileBdevOptions } from './bdev/file.js';
export { ErrorBdev } from './bdev/error.js';
export type { BdevOp, ErrorBdevOptions, ErrorInjection } from './bdev/error.js';
