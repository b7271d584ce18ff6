/**
 * The daemon's log through pino: one JSON object a line on stderr (level names, ISO times) for a
 * collector, or pino-pretty's readable lines when stderr is a terminal. Writes are synchronous:
 * management events are rare, and a line logged just before exit must not be lost.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { TransportLogger } from '@nvmu/nvmf';

import type { LogLevel } from './options.js';

export type LogLevelName = LogLevel;

export interface LoggerOptions {
  /** Readable output (pino-pretty) instead of JSON. Default: when stderr is a TTY and NO_COLOR is not set. */
  pretty?: boolean;
  /** Where lines go. Default: stderr. */
  destination?: NodeJS.WritableStream;
}

/** A pino logger at `level`, writing to stderr. */
export function createPino(level: LogLevelName, opts: LoggerOptions = {}): Logger {
  const usePretty = opts.pretty ?? (process.stderr.isTTY && process.env.NO_COLOR === undefined);
  const base = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (usePretty) {
    return pino(base, pretty({ colorize: opts.destination === undefined, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: opts.destination ?? 2 }));
  }
  return pino(base, opts.destination ?? pino.destination({ fd: 2, sync: true }));
}

/** The core's and transports' logger interface over pino (fields first, as pino takes them). */
export function pinoLogger(level: LogLevelName, opts: LoggerOptions = {}): TransportLogger & { readonly pino: Logger } {
  const p = createPino(level, opts);
  return {
    pino: p,
    debug: (msg, fields) => {
      p.debug(fields ?? {}, msg);
    },
    info: (msg, fields) => {
      p.info(fields ?? {}, msg);
    },
    warn: (msg, fields) => {
      p.warn(fields ?? {}, msg);
    },
    error: (msg, fields) => {
      p.error(fields ?? {}, msg);
    },
  };
}

/** One JSON object a line (pino), whatever `out` is: structured logs a collector can read. */
export function jsonLogger(min: LogLevel, out?: NodeJS.WritableStream): TransportLogger {
  return pinoLogger(min, { pretty: false, destination: out });
}
