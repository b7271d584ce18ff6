// @nvmu/transport-tcp/host: the NVMe/TCP host transport for @nvmu/client. Importing this entry
// registers trtype 'tcp' in the client's process-wide registry through
// `@nvmu/client/transport`, the client's dependency-free contract module (the client's main
// entry is not loaded by it; see that module's comment).
import { registerHostTransport } from '@nvmu/client/transport';

import { tcpHostTransportFactory } from './host/transport.js';

registerHostTransport(tcpHostTransportFactory);

export { TcpHostTransport, createTcpHostTransportFactory, tcpHostTransportFactory, NVME_TCP_DEFAULT_PORT } from './host/transport.js';
export type { TcpHostOptions } from './host/transport.js';
export { NvmeTcpError } from './host/qpair.js';
