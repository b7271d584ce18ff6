/**
 * Shutdown on SIGINT/SIGTERM: the first signal stops the daemon cleanly and exits 0 (1 when the
 * shutdown fails); a second one, while that runs, exits at once with 1. Handlers stay installed
 * (`on`, not `once`) so a second signal never takes Node's default action (death by signal,
 * which `pnpm start` reports as a failed lifecycle script).
 */
import { EXIT } from './options.js';

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

export interface ShutdownHooks {
  /** Stop serving; resolves once everything is closed. */
  stop(): Promise<void>;
  /** Where to say what happens (one line each). */
  say(line: string): void;
  /** Ends the process; `process.exit` unless a test passes its own. */
  exit?: (code: number) => void;
}

/** Install the handlers; returns a function that removes them. */
export function handleShutdownSignals(hooks: ShutdownHooks, proc: NodeJS.EventEmitter = process): () => void {
  const exit = hooks.exit ?? ((code: number): void => process.exit(code));
  let stopping = false;
  const onSignal = (signal: ShutdownSignal): void => {
    if (stopping) {
      hooks.say(`nvmu-target: ${signal} again, exiting now`);
      exit(EXIT.failure);
      return;
    }
    stopping = true;
    hooks.say(`nvmu-target: ${signal}, shutting down`);
    hooks.stop().then(
      () => {
        hooks.say('nvmu-target: stopped');
        exit(EXIT.ok);
      },
      (e: unknown) => {
        hooks.say(`nvmu-target: shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        exit(EXIT.failure);
      },
    );
  };
  const onInt = (): void => {
    onSignal('SIGINT');
  };
  const onTerm = (): void => {
    onSignal('SIGTERM');
  };
  proc.on('SIGINT', onInt);
  proc.on('SIGTERM', onTerm);
  return () => {
    proc.off('SIGINT', onInt);
    proc.off('SIGTERM', onTerm);
  };
}
