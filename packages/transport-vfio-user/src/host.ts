// @nvmu/transport-vfio-user/host: the host side (trtype 'vfio-user', SPDK's 'vfiouser') for
// @nvmu/client. Importing it registers the transport; the client itself is imported as types
// only (the registry lives on globalThis under Symbol.for('nvmu.hostTransports')).
import type { HostTransportRegistry } from '@nvmu/client';
import { vfioUserHostTransportFactory } from './host/transport.js';

const REGISTRY_KEY: unique symbol = Symbol.for('nvmu.hostTransports') as typeof REGISTRY_KEY;
const holder = globalThis as { [REGISTRY_KEY]?: HostTransportRegistry };
(holder[REGISTRY_KEY] ??= new Map()).set(vfioUserHostTransportFactory.trtype, vfioUserHostTransportFactory);

export { vfioUserHostTransportFactory, VfioUserHostTransport, VFIO_USER_HOST_TRTYPE, vfioUserHostOptions, socketPathOf } from './host/transport.js';
export type { VfioUserHostOptions, VfioUserHostStats } from './host/transport.js';
export { VfioUserClientConnection, VfioUserConnectionError, VfioUserReplyError } from './host/connection.js';
export type { HostDmaMode } from './host/memory.js';
export type { QPairStats } from './host/qpair.js';
