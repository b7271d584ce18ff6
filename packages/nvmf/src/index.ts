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
} from './transport.js';
export { Request, SQE_SIZE, CQE_SIZE, MAX_IOVCNT } from './request.js';
export type { DataDirection, RequestState } from './request.js';
