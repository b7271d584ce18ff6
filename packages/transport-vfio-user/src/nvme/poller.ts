/**
 * Adaptive polling of doorbells in shared memory (DESIGN.md "The hot path"): a guest's write
 * to an mmapped doorbell raises no event, so the target looks. While there is work it polls
 * on every turn of the event loop (setImmediate: other I/O still runs between passes); after
 * `spinPasses` idle passes it backs off on a timer, doubling up to `maxDelayMs`, so an idle
 * guest costs a few hundred short wake-ups a second. Anything that may mean work (a doorbell
 * written by message, a completion from a block device, a queue created) calls `wake()`.
 */

export interface PollerOptions {
  /** Idle passes on setImmediate before backing off to timers. Default 64. */
  readonly spinPasses?: number;
  /** Longest sleep between idle passes, in ms. Default 4. */
  readonly maxDelayMs?: number;
}

export class AdaptivePoller {
  private readonly pass: () => boolean;
  private readonly spinPasses: number;
  private readonly maxDelayMs: number;
  private idle = 0;
  private delay = 0;
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.run();
  };
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.run();
  };
  /** Passes run (statistics, tests). */
  passes = 0;

  private readonly onError: (err: unknown) => void;

  /** `pass` does one polling pass and returns true when it found work; `onError` logs a pass that threw. */
  constructor(pass: () => boolean, onError: (err: unknown) => void, opts: PollerOptions = {}) {
    this.pass = pass;
    this.onError = onError;
    this.spinPasses = opts.spinPasses ?? 64;
    this.maxDelayMs = opts.maxDelayMs ?? 4;
  }

  /** Start (or keep) polling and poll soon. */
  wake(): void {
    this.running = true;
    this.idle = 0;
    this.delay = 0;
    if (this.immediate !== undefined) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.immediate = setImmediate(this.onImmediate);
  }

  /** Stop polling until the next `wake()`. */
  stop(): void {
    this.running = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  /** Whether it is sleeping on a timer (backed off). */
  get sleeping(): boolean {
    return this.timer !== undefined;
  }

  private run(): void {
    if (!this.running) return;
    this.passes++;
    let busy: boolean;
    try {
      busy = this.pass();
    } catch (err) {
      // A bug in one pass must not stop the device; the next pass retries from consistent state.
      busy = false;
      this.onError(err);
    }
    // pass() may have called wake() or stop(): then the next turn is already decided.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- mutated by pass()
    if (!this.running || this.immediate !== undefined || this.timer !== undefined) return;
    if (busy) {
      this.idle = 0;
      this.delay = 0;
      this.immediate = setImmediate(this.onImmediate);
      return;
    }
    this.idle++;
    if (this.idle < this.spinPasses) {
      this.immediate = setImmediate(this.onImmediate);
      return;
    }
    this.delay = this.delay === 0 ? 1 : Math.min(this.delay * 2, this.maxDelayMs);
    this.timer = setTimeout(this.onTimer, this.delay);
    this.timer.unref();
  }
}
