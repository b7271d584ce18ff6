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
export type { TransportIdInput } from './trid.js';
export { TransportIdError, formatTransportId, formatUuid, parseTransportId, parseUuid } from './trid.js';
