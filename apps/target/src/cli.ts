/** `nvmu-target`: parse the command line, start the daemon, stop it on a signal. */
import { connectHelp, startDaemon } from './daemon.js';
import { EXIT, HELP, UsageError, parseCommand } from './options.js';
import { handleShutdownSignals } from './signals.js';

/**
 * Run the daemon; resolves once it serves (the signal handlers then own the process). Sets
 * `process.exitCode` (2 for a usage error, 1 for a failure to start) instead of throwing.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  try {
    const cmd = parseCommand(argv);
    if (cmd.help) {
      process.stdout.write(HELP);
      process.exitCode = EXIT.ok;
      return;
    }
    const daemon = await startDaemon(cmd.options);
    handleShutdownSignals({ stop: () => daemon.stop(), say: (l) => {
        console.error(l);
      },
    });
    console.log(connectHelp(cmd.options));
  } catch (e) {
    const usage = e instanceof UsageError;
    console.error(`nvmu-target: ${e instanceof Error ? e.message : String(e)}${usage ? '\n(nvmu-target --help lists the options)' : ''}`);
    process.exitCode = usage ? EXIT.usage : EXIT.failure;
  }
}
