/** The daemon's structured log: one JSON object a line on stderr, for a collector to read. */
import type { TransportLogger } from '@nvmu/nvmf';

import { LOG_LEVELS, type LogLevel } from './options.js';

export function jsonLogger(min: LogLevel, out: NodeJS.WritableStream = process.stderr): TransportLogger {
  const floor = LOG_LEVELS.indexOf(min);
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(level) < floor) return;
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
