/**
 * The low-latency (busy-poll) mode shared by the target and the host side.
 *
 * Node reads a socket only when the event loop's epoll says it is readable: at queue depth 1
 * every command then pays an epoll wake-up on each side. In this mode a side that expects the
 * next PDU soon (the target after writing a response, the host after submitting a command)
 * asks the kernel directly, MSG_DONTWAIT, for up to a bounded window before going back to the event
 * loop (@nvmu/native's `recvInto`; Node offers no non-blocking read into a caller's buffer).
 * Bytes read so go into the connection's own `PduReceiver` through `pushFrom`, the entry point
 * the socket's read path feeds, so there is one parser. Reading behind libuv's back is safe
 * because this runs in JavaScript, on the loop's one thread: libuv reads a socket only from the
 * event loop, hands every byte it read to JavaScript before its read callback returns, and
 * finds a socket drained here empty (EAGAIN; its epoll is level-triggered).
 *
 * Bounds, so an idle connection costs nothing and a busy one starves nothing:
 * - a spin ends once a whole PDU (or several) arrived, so what it caused (the core executing a
 *   command, a completion reaching the caller) runs at once; the side re-arms the next spin;
 * - a spin that finds nothing for the window ends, and the socket is back in epoll's hands:
 *   an idle connection uses no CPU once the window passed;
 * - spins that keep finding data are chained without the event loop in between; after
 *   `SLICE_MS` of such a chain the next spin is deferred to `setImmediate`, so timers, other
 *   connections and management get their turn (shared DESIGN.md: "polls in bounded slices and
 *   yields");
 * - nothing is read while the connection holds unprocessed input (a paused or stalled
 *   receiver, data buffered in the Node stream): the bytes would overtake the held ones.
 */

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import type { PduReceiver } from './receiver.js';

/** The two calls of @nvmu/native the mode needs (loaded only when it is switched on). */
export interface BusyPollNative {
  recvInto(fd: number, buf: Uint8Array, offset: number, length: number): number;
  socketFd(socket: Socket): number;
}

let loaded: Promise<BusyPollNative> | undefined;

/**
 * @nvmu/native, imported on first use: a transport that never turns the mode on never loads
 * the addon (an optional dependency).
 */
export function loadBusyPollNative(): Promise<BusyPollNative> {
  loaded ??= import('@nvmu/native').then(
    (m) => ({ recvInto: m.recvInto, socketFd: m.socketFd }),
    (e: unknown) => {
      loaded = undefined;
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`nvme-tcp: the busy-poll mode needs @nvmu/native, which did not load (${why})`, { cause: e });
    },
  );
  return loaded;
}

/** Largest busy-poll window accepted, in microseconds (a window is a bound, not a sleep). */
export const MAX_BUSY_POLL_US = 10_000;

/**
 * Checks a window given in microseconds: 0 (off) to {@link MAX_BUSY_POLL_US}.
 * @throws {RangeError} otherwise.
 */
export function checkBusyPollUs(us: number, what: string): number {
  if (!Number.isInteger(us) || us < 0 || us > MAX_BUSY_POLL_US) {
    throw new RangeError(`${what} must be an integer number of microseconds from 0 to ${MAX_BUSY_POLL_US}, got ${String(us)}`);
  }
  return us;
}

/** How long spins that keep finding data may chain before the event loop gets a turn. */
const SLICE_MS = 1;
/** recvInto's "nothing there". */
const EMPTY = -1;

/** Counters of one side's busy polling (a transport's, shared by its connections). */
export interface BusyPollStats {
  /** Spins started (each polls until data, the window's end, or the socket's end). */
  spins: number;
  /** recvInto calls made (the polls themselves); stops growing when no spin runs. */
  polls: number;
  /** Spins that found data. */
  hits: number;
  /** Bytes read by spins (not by the event loop). */
  bytes: number;
  /** Spins put off to setImmediate because a chain of hits used up its slice. */
  yields: number;
}

export function newBusyPollStats(): BusyPollStats {
  return { spins: 0, polls: 0, hits: 0, bytes: 0, yields: 0 };
}

/**
 * Per event loop (module state is per thread): when the current chain of spins that found
 * data began (-1: none), and whether an immediate that marks the loop's next turn is queued.
 */
let chainStart = -1;
let turnMarkQueued = false;
/** True while a spin runs: spins never nest (a PDU handler re-arming would recurse). */
let spinning = false;

/** The event loop reached its check phase: whatever chained before, it ran in between. */
function loopTurned(): void {
  turnMarkQueued = false;
  chainStart = -1;
}

function noteHit(now: number): void {
  if (chainStart >= 0) return;
  chainStart = now;
  if (!turnMarkQueued) {
    turnMarkQueued = true;
    setImmediate(loopTurned);
  }
}

/** What a connection gives its poller. */
export interface SocketPollerOwner {
  readonly socket: Socket;
  readonly rx: PduReceiver;
  /** True when the connection may read now (live, not paused or stalled, nothing held, and for the host: commands outstanding). */
  canPoll(): boolean;
}

/** Read anew after calls that may have closed the socket (a PDU handler can). */
function isDestroyed(socket: Socket): boolean {
  return socket.destroyed;
}

/** Busy-polls one connection's socket (see the module comment). */
export class SocketPoller {
  private fd = -1;
  /** A spin was put off to setImmediate (a used-up slice); none runs before it. */
  private yielded = false;
  /** The socket has no descriptor to poll: this connection stays in epoll's hands. */
  private off = false;
  /** A later spin is queued (spinLater). */
  private later = false;
  private readonly afterYield = (): void => {
    this.yielded = false;
    this.spin();
  };
  private readonly afterLater = (): void => {
    this.later = false;
    if (this.spin() && this.owner.canPoll()) this.spinLater();
  };

  constructor(
    private readonly native: BusyPollNative,
    private readonly owner: SocketPollerOwner,
    /** Where spins read to: used only during a spin, so it may be the socket's own read buffer. */
    private readonly buf: Buffer,
    windowUs: number,
    private readonly stats: BusyPollStats,
  ) {
    this.windowMs = windowUs / 1000;
  }

  private readonly windowMs: number;

  /**
   * Spin once the event loop has had its turn (setImmediate): for the host after a completion
   * while commands are still outstanding, when no submit follows to start a spin.
   */
  spinLater(): void {
    if (this.later || this.yielded) return;
    this.later = true;
    setImmediate(this.afterLater);
  }

  /**
   * Polls the socket for up to the window and feeds what arrives to the receiver; returns once
   * whole PDUs were delivered, the window passed with nothing, or the stream ended. Returns
   * true when it delivered data.
   */
  spin(): boolean {
    const owner = this.owner;
    const socket = owner.socket;
    if (spinning || this.yielded || this.off || socket.destroyed || socket.readableLength > 0 || !owner.canPoll()) return false;
    const now = performance.now();
    if (chainStart >= 0 && now - chainStart > SLICE_MS) {
      // A long chain of hits without the event loop: let it run before the next spin.
      this.yielded = true;
      this.stats.yields++;
      setImmediate(this.afterYield);
      return false;
    }
    if (this.fd < 0) {
      try {
        this.fd = this.native.socketFd(socket);
      } catch {
        // A handle that does not expose one. Never thrown from here: spins run from ticks.
        this.off = true;
        return false;
      }
    }
    const fd = this.fd;
    const rx = owner.rx;
    const buf = this.buf;
    const stats = this.stats;
    stats.spins++;
    spinning = true;
    let hit = false;
    try {
      let deadline = now + this.windowMs;
      for (;;) {
        let n: number;
        try {
          n = this.native.recvInto(fd, buf, 0, buf.length);
        } catch (e) {
          // The error (ECONNRESET, ...) is consumed by this read: libuv would next see only an
          // end of stream, so end the socket with it here.
          socket.destroy(e as Error);
          break;
        }
        stats.polls++;
        if (n > 0) {
          hit = true;
          stats.bytes += n;
          rx.pushFrom(buf, n);
          // Stop at a PDU boundary (what the PDUs caused runs now), or when the connection
          // stopped reading or closed (the descriptor must not be read after close).
          if (isDestroyed(socket) || !rx.midPdu || !owner.canPoll()) break;
          deadline = performance.now() + this.windowMs;
          continue;
        }
        // 0: end of stream. It stays readable: libuv reads it too and the socket ends as usual.
        if (n !== EMPTY || performance.now() >= deadline) break;
      }
    } finally {
      spinning = false;
    }
    if (hit) {
      stats.hits++;
      noteHit(now);
    } else {
      chainStart = -1;
    }
    return hit;
  }
}
