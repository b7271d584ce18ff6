// Public API of @nvmu/cli: the nvmu commands as functions (for tests and scripts).
export { USAGE, cliMain, discoverCommand, identifyCommand, readCommand, rpcCommand, writeCommand } from './cli.js';
export { CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, describeError } from './common.js';
export type { CliStreams } from './common.js';
export { discoveryRecords, formatDiscovery, runDiscover } from './discover.js';
export type { DiscoveryLog, DiscoveryRecord } from './discover.js';
export { controllerFields, formatIdentify, identifyJson, namespaceFields, powerStates, readIdentify } from './identify.js';
export type { IdentifyResult, LbafRecord, NamespaceJson, PowerStateRecord } from './identify.js';
export { blocksPerCommand, readBlocks, writeBlocks } from './blockio.js';
export { DEFAULT_RPC_SOCKET, defaultRpcSocket, RpcError, RpcParamsError, RpcTransportError, parseRpcParams, rpcCall } from './rpc.js';
export type { JsonValue, RpcCallOptions } from './rpc.js';
