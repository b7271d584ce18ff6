// Public API of @nvmu/transport-loopback. Importing "." registers nothing: use "./host" for that.
export { LOOPBACK_TRTYPE, INTRA_HOST_CODE, DEFAULT_LOOPBACK_OPTIONS, LoopbackTargetTransport } from './target.js';
export { loopbackHostTransportFactory, registerLoopbackHostTransport } from './host-factory.js';
export { LoopbackDisconnectedError } from './connection.js';
export type { LoopbackConnectionState } from './connection.js';
