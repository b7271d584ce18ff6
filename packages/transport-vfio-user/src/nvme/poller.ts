/**
 * Adaptive polling of doorbells in shared memory (DESIGN.md "The hot path"): a guest's write
 * to an mmapped doorbell raises no event, so the target looks. While there is work it polls
 * on every turn of the event loop (setImmediate: other I/O still runs between passes); after
 * `spinPasses` idle passes it backs off on a timer, doubling up to `maxDelayMs` (a guest that
 * pauses between bursts finds the target within a few ms); once it has slept `deepAfterMs` in
 * a row it sleeps `deepDelayMs` between passes, so an idle guest costs the target about 20
 * short wake-ups a second (issue 14: below 1 % of a core; at `maxDelayMs` it was 250 a second,
 * 2.5 % of a core on the loaded shared machine, measured with tools/bench's `bench:idle`). Anything that may mean work (any
 * vfio-user message that touches the controller: a doorbell or register written by message,
 * a DMA map, an IRQ change; a completion from a block device; a queue created) calls `wake()`,
 * which ends any sleep at once. A doorbell written into the mmapped page raises no event: the
 * first command after a deep sleep waits up to `deepDelayMs` for the next pass.
 *
 * Interrupt mode (SPDK's vfio-user `interrupt_mode`; the owner passes `arm`): where the poller
 * would back off to a timer it asks `arm()` instead. `'armed'` means every doorbell the owner
 * does not see by message is armed to become one (the target wrote each SQ's shadow EventIdx and
 * re-checked the tail), so the poller stops without any timer until the next `wake()`: an idle
 * device costs nothing. `'work'` means the re-check found a command: poll again now. `'later'`
 * means it cannot sleep on messages alone (a command waits for CQ room the host frees without
 * telling): the timer back-off runs as without `arm`.
 */

/** What `arm()` found: see the interrupt mode in the module comment. */
export type ArmResult = 'armed' | 'work' | 'later';

export interface PollerOptions {
  /** Idle passes on setImmediate before backing off to timers. Default 64. */
  readonly spinPasses?: number;
  /** Longest sleep between idle passes of the short back-off, in ms. Default 4. */
  readonly maxDelayMs?: number;
  /** Time asleep in a row (ms, summed over the short back-off's sleeps) before the deep sleep. Default 250. */
  readonly deepAfterMs?: number;
  /** Sleep between passes once idle for `deepAfterMs`, in ms. Default 50 (0: no deep sleep). */
  readonly deepDelayMs?: number;
  /**
   * Keep spinning for this long (ms) after the last pass that found work, however many idle
   * passes that takes. An idle pass costs well under a microsecond, so `spinPasses` alone ends
   * the spin after some tens of microseconds; a peer that takes longer to come back (a host
   * copying 32 x 128 KiB out of its completions before it resubmits) then found the poller
   * asleep on a 1 ms timer every round, and 128 KiB reads ran at a fifth of their speed. Default
   * 0 (passes only).
   */
  readonly spinMs?: number;
  /** The clock `spinMs` is measured with (ms). Default `performance.now`; tests pass their own. */
  readonly now?: () => number;
  /**
   * Interrupt mode: called where the poller would sleep on a timer; see the module comment.
   * Default none (polling mode: timers and the deep sleep).
   */
  readonly arm?: () => ArmResult;
}

export class AdaptivePoller {
  private readonly pass: () => boolean;
  private readonly spinPasses: number;
  private readonly maxDelayMs: number;
  private readonly deepAfterMs: number;
  private readonly deepDelayMs: number;
  private readonly spinMs: number;
  private readonly now: () => number;
  private readonly arm: (() => ArmResult) | undefined;
  /** Stopped in interrupt mode after `arm()` said 'armed': only `wake()` runs the next pass. */
  private armed = false;
  /** When a pass last found work (or wake() was called), by `now`; read only when `spinMs` > 0. */
  private lastWork = 0;
  private idle = 0;
  private delay = 0;
  /** ms slept on timers since the last pass that found work (a sum of delays: no clock is read). */
  private slept = 0;
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
  /** Times `arm()` let the poller sleep until a message (statistics, tests). */
  sleeps = 0;

  private readonly onError: (err: unknown) => void;

  /** `pass` does one polling pass and returns true when it found work; `onError` logs a pass that threw. */
  constructor(pass: () => boolean, onError: (err: unknown) => void, opts: PollerOptions = {}) {
    this.pass = pass;
    this.onError = onError;
    this.spinPasses = opts.spinPasses ?? 64;
    this.maxDelayMs = opts.maxDelayMs ?? 4;
    this.deepAfterMs = opts.deepAfterMs ?? 250;
    this.deepDelayMs = opts.deepDelayMs ?? 50;
    this.spinMs = opts.spinMs ?? 0;
    this.now = opts.now ?? (() => performance.now());
    this.arm = opts.arm;
  }

  /** Start (or keep) polling and poll soon. */
  wake(): void {
    this.running = true;
    this.armed = false;
    this.idle = 0;
    this.delay = 0;
    this.slept = 0;
    if (this.spinMs > 0) this.lastWork = this.now();
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
    this.armed = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  /** Whether it is sleeping on a timer (backed off). */
  get sleeping(): boolean {
    return this.timer !== undefined;
  }

  /** Whether it waits for `wake()` alone (interrupt mode, armed): no pass and no timer until then. */
  get waitingForMessage(): boolean {
    return this.armed;
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
      this.slept = 0;
      if (this.spinMs > 0) this.lastWork = this.now();
      this.immediate = setImmediate(this.onImmediate);
      return;
    }
    this.idle++;
    if (this.idle < this.spinPasses || (this.spinMs > 0 && this.now() - this.lastWork < this.spinMs)) {
      this.immediate = setImmediate(this.onImmediate);
      return;
    }
    if (this.arm !== undefined) {
      let r: ArmResult;
      try {
        r = this.arm();
      } catch (err) {
        r = 'later';
        this.onError(err);
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- arm() may wake() or stop()
      if (!this.running || this.immediate !== undefined) return;
      if (r === 'armed') {
        this.armed = true;
        this.sleeps++;
        return;
      }
      if (r === 'work') {
        this.idle = 0;
        this.immediate = setImmediate(this.onImmediate);
        return;
      }
    }
    if (this.deepDelayMs > 0 && this.slept >= this.deepAfterMs) this.delay = this.deepDelayMs;
    else this.delay = this.delay === 0 ? 1 : Math.min(this.delay * 2, this.maxDelayMs);
    this.slept += this.delay;
    this.timer = setTimeout(this.onTimer, this.delay);
    this.timer.unref();
  }
}
