/**
 * The nvmu target daemon (`nvmu-target`), first slice: it serves one subsystem with a
 * file-backed namespace over NVMe/TCP (with the discovery subsystem on the same listener).
 * JSON-RPC management, SPDK JSON config files and the vfio-user endpoint arrive with the daemon
 * issue. This module is the programmatic API; the command line lives in cli.ts.
 */
export { DEFAULTS, EXIT, HELP, NEW_IMAGE_SIZE, UsageError, checkOptions, parseCommand, parseDaemonArgs, parseSize } from './options.js';
export type { Command, DaemonOptions, LogLevel } from './options.js';
export { IMAGE_NAME, connectHelp, startDaemon } from './daemon.js';
export type { RunningDaemon } from './daemon.js';
export { jsonLogger } from './log.js';
export { handleShutdownSignals } from './signals.js';
export type { ShutdownHooks, ShutdownSignal } from './signals.js';
