// Public API of @nvmu/client, the NVMe host library.

// Connecting and discovery.
export { connect, discover, NoHostTransportError } from './connect.js';
export type { DiscoveredSubsystem } from './connect.js';

// The controller, its namespaces and queue pairs.
export { Controller } from './controller.js';
export { DISCOVERY_NQN } from '@nvmu/nvme-spec';
export type { AsyncEvent } from './events.js';
export type { ControllerEvents, ControllerOptions, ControllerState, PassthroughResult } from './controller.js';
export { Namespace } from './namespace.js';
export type { IoOptions, LbaRange, WriteOptions } from './namespace.js';
export { QPair, CDW12_FUA, CDW12_DEAC } from './qpair.js';
export type { CommandResult, IoCallback, NamespaceLike, QPairState } from './qpair.js';

// Decoded structures.
export type { ControllerData, DiscoveryLog, DiscoveryLogEntry, DiscoveryLogHeader, LbaFormat, NamespaceData, NamespaceIds } from './identify.js';

// Errors.
export {
  NvmeCommandError,
  NvmeCommandAbortedError,
  NvmeControllerStateError,
  NvmeControllerStatusError,
  NvmeDiscoveryLogChangingError,
  NvmeQPairError,
  NvmeQueueFullError,
  NvmeTransportCapabilityError,
} from './errors.js';
export type { AbortReason, CommandInfo, CommandSet, NvmeError, QPairFailure } from './errors.js';

// Host identity.
export { defaultHostIdentity, loadHostIdentity, uuidFromMachineId, UUID_NQN_PREFIX } from './hostid.js';
export type { HostIdentity, HostIdentitySources } from './hostid.js';

// The host transport contract and registry (transports import these as types).
export type {
  AddressFamily,
  HostDataDirection,
  HostDmaMemory,
  HostQPair,
  HostQPairHandler,
  HostQPairOptions,
  HostTransport,
  HostTransportFactory,
  HostTransportKind,
  HostTransportOpenOptions,
  HostTransportRegistry,
  TransportId,
} from './transport.js';
export {
  HOST_TRANSPORT_REGISTRY_KEY,
  getHostTransport,
  hostTransportRegistry,
  registerHostTransport,
  unregisterHostTransport,
} from './transport.js';

// Transport IDs.
export type { TransportIdInput } from './trid.js';
export { TransportIdError, formatTransportId, formatUuid, parseTransportId, parseUuid } from './trid.js';
