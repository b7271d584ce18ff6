/**
 * What every nvmu command shares: the streams it writes to, usage errors (exit status 2),
 * turning any failure into one clear line, and a connect-use-close helper.
 */
import { type Controller, type ControllerOptions, NoHostTransportError, NvmeCommandAbortedError, NvmeCommandError, TransportIdError, connect, parseTransportId } from '@nvmu/client';

/** Where a command writes (process.stdout/stderr, or buffers in tests). */
export interface CliStreams {
  readonly stdout: { write(s: string | Uint8Array): unknown };
  readonly stderr: { write(s: string): unknown };
  /** Where `-f -` reads from (default process.stdin). */
  readonly stdin?: AsyncIterable<Uint8Array | string> | undefined;
}

/** A bad command line: printed with the command's usage, exit status 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Exit statuses of every command. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENOENT: 'no such file or socket',
  EACCES: 'permission denied',
};

/**
 * One line for any failure: the error's message, NVMe status names included (NvmeCommandError
 * already carries "Read (qid 1, cid 0, nsid 1) failed: LbaOutOfRange ..."), plus the errno
 * meaning and causes behind it.
 */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let text = e.message;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && ERRNO_TEXT[code] !== undefined && !text.toLowerCase().includes(ERRNO_TEXT[code])) {
    text += ` (${ERRNO_TEXT[code]})`;
  }
  let cause: unknown = e.cause;
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}

/** Exit status for an error: usage problems 2, everything else 1. */
export function exitStatusOf(e: unknown): number {
  return e instanceof CliUsageError || e instanceof TransportIdError ? EXIT_USAGE : EXIT_FAILURE;
}

/** Re-exported for callers that match on error types. */
export { NoHostTransportError, NvmeCommandAbortedError, NvmeCommandError };

/** Parses `-r`'s text early so a bad transport ID is a usage error with a clear message. */
export function requireTrid(value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new CliUsageError('-r <transport ID> is required');
  try {
    parseTransportId(value);
  } catch (e) {
    if (e instanceof TransportIdError) throw new CliUsageError(`-r '${value}': ${e.message}`);
    throw e;
  }
  return value;
}

/** Parses a non-negative integer option. */
export function intOption(flag: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new CliUsageError(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  return n;
}

/** Connects, runs `fn`, and always closes the controller (clean shutdown). */
export async function withController<T>(trid: string, fn: (ctrl: Controller) => Promise<T>, opts: ControllerOptions = {}): Promise<T> {
  const ctrl = await connect(trid, { reconnect: false, ...opts });
  try {
    return await fn(ctrl);
  } finally {
    await ctrl.close();
  }
}
