// @nvmu/transport-vfio-user/host: the host side (trtype 'vfio-user', SPDK's 'vfiouser') for
// @nvmu/client. Importing it registers the transport through `@nvmu/client/transport`, the
// client's dependency-free contract module (the client's main entry is not loaded by it).
import { registerHostTransport } from '@nvmu/client/transport';
import { vfioUserHostTransportFactory } from './host/transport.js';

registerHostTransport(vfioUserHostTransportFactory);

export { vfioUserHostTransportFactory, VfioUserHostTransport, VFIO_USER_HOST_TRTYPE, vfioUserHostOptions, socketPathOf } from './host/transport.js';
export type { VfioUserHostOptions, VfioUserHostStats } from './host/transport.js';
export { VfioUserClientConnection, VfioUserConnectionError, VfioUserReplyError } from './host/connection.js';
export type { HostDmaMode } from './host/memory.js';
export type { QPairStats } from './host/qpair.js';
