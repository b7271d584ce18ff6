/**
 * The nvmu target daemon (`nvmu-target`): by default one subsystem with a file-backed namespace
 * over NVMe/TCP (with the discovery subsystem on the same listener) and as a vfio-user PCI
 * controller (`vfu0` beside the RPC socket), managed over a JSON-RPC socket with SPDK's methods,
 * or whatever an SPDK JSON config (`--json`) sets up. This module is the programmatic API; the
 * command line lives in cli.ts.
 */
export { DEFAULTS, EXIT, HELP, NEW_IMAGE_SIZE, UsageError, VFIO_USER_DIR_NAME, checkOptions, parseCommand, parseDaemonArgs, parseSize, vfioUserDir } from './options.js';
export type { Command, DaemonOptions, LogLevel } from './options.js';
export { IMAGE_NAME, connectHelp, pnpmCommand, qemuLine, startDaemon } from './daemon.js';
export type { RunningDaemon } from './daemon.js';
export { jsonLogger, pinoLogger, createPino } from './log.js';
export type { LoggerOptions, LogLevelName } from './log.js';
export { defaultRpcSocket, defaultRunDir } from './paths.js';
export { defaultConfig, serve } from './serve.js';
export type { DefaultSetup, ServeOptions, Services } from './serve.js';
export { ConfigError, applyConfig, configEntries, loadConfigFile } from './config.js';
export { RpcCode, RpcError, RpcMethods, RpcServer, saveConfig } from './rpc/index.js';
export type { ConfigEntry, JsonObject, JsonValue, RpcContext, RpcHandler, SpdkConfig } from './rpc/index.js';
export { TransportRegistry, TransportUnavailableError, defaultTransports, pathListener } from './transports.js';
export type { AddressKind, NvmfTransportParams, TransportFactory, TransportOwnOptions, TransportParamField } from './transports.js';
export { createMetricsRegistry, nvmfStats, serveMetrics } from './stats.js';
export { handleShutdownSignals } from './signals.js';
export type { ShutdownHooks, ShutdownSignal } from './signals.js';
