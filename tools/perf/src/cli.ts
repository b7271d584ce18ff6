/**
 * The command behind the `nvmu-perf` binary, as a function of (argv, streams) → exit status so
 * tests run it in-process. Exit status: 0 success, 1 I/O errors or verify mismatches (or a
 * failure to connect), 2 bad arguments.
 */
import { PerfArgsError, USAGE, parsePerfArgs } from './args.js';
import { formatJson, formatProgress, formatResults } from './format.js';
import { runPerf } from './run.js';

/** Where the command writes. */
export interface PerfStreams {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean | undefined };
}

/** Runs nvmu-perf with `argv` (no `node`/script); resolves with the exit status. */
export async function perfMain(argv: readonly string[], io: PerfStreams, signal?: AbortSignal): Promise<number> {
  let parsed;
  try {
    parsed = parsePerfArgs(argv);
  } catch (e) {
    if (e instanceof PerfArgsError) {
      io.stderr.write(`nvmu-perf: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (parsed.kind === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const o = parsed.options;
  const tty = io.stderr.isTTY === true;
  const shown = { progress: false };
  // Ctrl-C stops submission; the I/Os in flight drain and the results so far are printed.
  const ac = new AbortController();
  const onSigint = (): void => {
    ac.abort();
  };
  if (signal === undefined) process.once('SIGINT', onSigint);
  try {
    const res = await runPerf(o, {
      signal: signal ?? ac.signal,
      onProgress: o.progress
        ? (p) => {
            // On a terminal the line rewrites itself; elsewhere one line per second.
            io.stderr.write(tty ? `\r${formatProgress(p)}\x1b[K` : `${formatProgress(p)}\n`);
            shown.progress = true;
          }
        : undefined,
    });
    if (tty && shown.progress) io.stderr.write('\n');
    if (res.config.queueDepth < o.queueDepth) {
      io.stderr.write(`nvmu-perf: note: -q ${o.queueDepth} ran as ${res.config.queueDepth} (the qpairs' queue size is the limit; add -P)\n`);
    }
    io.stdout.write(o.json ? formatJson(res) : formatResults(res));
    if (!res.ok) {
      const why = res.total.ios === 0 ? 'no I/O completed' : [res.total.errors > 0 ? `${res.total.errors} I/O errors` : '', res.verify.mismatches > 0 ? `${res.verify.mismatches} verify mismatches` : ''].filter((s) => s !== '').join(', ');
      io.stderr.write(`nvmu-perf: FAILED: ${why}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (tty && shown.progress) io.stderr.write('\n');
    const message = e instanceof Error ? e.message : String(e);
    // Scripts reading --json get an object even when the run could not start.
    if (o.json) io.stdout.write(`${JSON.stringify({ version: 1, tool: 'nvmu-perf', ok: false, error: message })}\n`);
    io.stderr.write(`nvmu-perf: ${message}\n`);
    return e instanceof PerfArgsError ? 2 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
