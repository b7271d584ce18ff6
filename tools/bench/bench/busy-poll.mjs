// The busy-poll technique of nvmu's low-latency mode (@nvmu/transport-tcp's busy-poll.ts), bare,
// for the raw floor: after a side wrote, it polls its socket with @nvmu/native's recvInto
// (recv MSG_DONTWAIT into one reused buffer) for up to a window of µs and hands what arrives
// to the same byte handler its 'data' / onread path uses. Reading behind libuv's back is safe
// while JavaScript runs (libuv reads only from the event loop; a drained socket gives it
// EAGAIN). A spin ends when the window passes with nothing (then epoll again: no idle CPU), at
// end of stream, or after 1 ms of continuous hits, when it yields to the event loop
// (setImmediate) so timers still run.
import { performance } from 'node:perf_hooks';
import { RECV_EMPTY, recvInto, socketFd } from '@nvmu/native';

const SLICE_MS = 1;

export class BusyPoll {
  /**
   * @param {import('node:net').Socket} sock connected
   * @param {number} windowUs
   * @param {(buf: Buffer, n: number) => void} onBytes
   * @param {() => boolean} [wanted] spin only while this holds (the client: answers outstanding)
   */
  constructor(sock, windowUs, onBytes, wanted = () => true) {
    this.sock = sock;
    this.fd = socketFd(sock);
    this.windowMs = windowUs / 1000;
    this.onBytes = onBytes;
    this.wanted = wanted;
    this.buf = Buffer.alloc(512 * 1024);
    this.spinning = false;
    this.resume = () => this.spin();
  }

  spin() {
    if (this.spinning || this.sock.destroyed || !this.wanted()) return;
    this.spinning = true;
    const start = performance.now();
    let deadline = start + this.windowMs;
    try {
      for (;;) {
        const n = recvInto(this.fd, this.buf, 0, this.buf.length);
        if (n > 0) {
          this.onBytes(this.buf, n);
          if (this.sock.destroyed || !this.wanted()) return;
          const now = performance.now();
          if (now - start > SLICE_MS) {
            setImmediate(this.resume);
            return;
          }
          deadline = now + this.windowMs;
          continue;
        }
        if (n !== RECV_EMPTY || performance.now() >= deadline) return;
      }
    } finally {
      this.spinning = false;
    }
  }
}

/**
 * The same bound without the native call, for comparison (what recvInto buys): keep the event
 * loop turning (setImmediate, so libuv's epoll_wait is called with timeout 0) until data came
 * through the socket's normal read path or the window passed. Node has no other way to poll a
 * net.Socket from JavaScript.
 */
export class LoopPoll {
  /**
   * @param {number} windowUs
   * @param {() => boolean} [wanted] as BusyPoll's
   */
  constructor(windowUs, wanted = () => true) {
    this.windowMs = windowUs / 1000;
    this.wanted = wanted;
    this.deadline = 0;
    this.armed = false;
    this.got = false;
    this.tick = () => {
      this.armed = false;
      if (this.got || !this.wanted() || performance.now() >= this.deadline) return;
      this.armed = true;
      setImmediate(this.tick);
    };
  }

  /** The socket's read path delivered bytes: this window is over. */
  hit() {
    this.got = true;
  }

  spin() {
    if (!this.wanted()) return;
    this.got = false;
    this.deadline = performance.now() + this.windowMs;
    if (!this.armed) {
      this.armed = true;
      setImmediate(this.tick);
    }
  }
}
