// @nvmu/transport-tcp/target: the NVMe/TCP target transport for @nvmu/nvmf.
export { TcpTargetTransport, TRTYPE_TCP, ADRFAM_IPV4, ADRFAM_IPV6 } from './target/transport.js';
export type { TcpTargetTransportOptions } from './target/transport.js';
export type { BusyPollStats } from './busy-poll.js';
export type { TcpReqPhase, TcpReqState, TcpTargetStats } from './target/connection.js';
export type { DataBuf, BufferWaiter, SharedBufferPoolStats } from './target/buffer-pool.js';
