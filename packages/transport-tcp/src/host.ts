// @nvmu/transport-tcp/host: the NVMe/TCP host transport for @nvmu/client. Importing this entry
// registers trtype 'tcp' in the client's process-wide registry (a Map on globalThis under
// Symbol.for('nvmu.hostTransports'); see @nvmu/client's transport.ts), without importing the
// client at run time.
import type { HostTransportRegistry } from '@nvmu/client';

import { tcpHostTransportFactory } from './host/transport.js';

const REGISTRY_KEY: unique symbol = Symbol.for('nvmu.hostTransports') as typeof REGISTRY_KEY;
const holder = globalThis as { [REGISTRY_KEY]?: HostTransportRegistry };
(holder[REGISTRY_KEY] ??= new Map()).set('tcp', tcpHostTransportFactory);

export { TcpHostTransport, createTcpHostTransportFactory, tcpHostTransportFactory, NVME_TCP_DEFAULT_PORT } from './host/transport.js';
export type { TcpHostOptions } from './host/transport.js';
export { NvmeTcpError } from './host/qpair.js';
