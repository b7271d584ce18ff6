// Public API of @nvmu/transport-tcp. Importing "." registers nothing; import
// "@nvmu/transport-tcp/host" to register trtype 'tcp' with @nvmu/client.
export { TcpTargetTransport, TRTYPE_TCP, ADRFAM_IPV4, ADRFAM_IPV6 } from './target/transport.js';
export type { TcpTargetTransportOptions } from './target/transport.js';
export type { BusyPollStats } from './busy-poll.js';
export type { TcpReqPhase, TcpReqState, TcpTargetStats } from './target/connection.js';
export type { DataBuf, BufferWaiter, SharedBufferPoolStats } from './target/buffer-pool.js';
export { TcpHostTransport, createTcpHostTransportFactory, tcpHostTransportFactory, NVME_TCP_DEFAULT_PORT } from './host/transport.js';
export type { TcpHostOptions } from './host/transport.js';
export { NvmeTcpError } from './host/qpair.js';
export { PduType, PduFlags, TermReqFes, MIN_MAXH2CDATA } from './pdu.js';
export type { Crc32c } from './pdu.js';
