// The raw-TCP ceiling, server half: the bytes NVMe/TCP puts on the wire for an I/O, without
// NVMe. Each request is a fixed 64-byte header (an SQE's size):
//   byte 0 opcode (0x02 read, 0x01 write), bytes 2-3 cid (LE), bytes 4-7 data length (LE),
//   bytes 8-15 LBA (ignored); a write request is followed by `length` payload bytes.
// A write's payload is copied out of the read buffer into one sink buffer.
// Each answer is a 16-byte response (a CQE's size): bytes 0-3 payload length (LE), bytes
// 12-13 cid, bytes 14-15 status 0; a read answer is followed by `length` payload bytes (0x5a).
// Answers go out in request order, all the answers to one read event in one corked writev.
// Nothing is allocated per request: response headers come from a preallocated ring, payloads are
// views of one constant buffer, and requests are read into one reused buffer (`onread`) the way
// nvmu's TCP target reads (its accepted socket's handle moved to a socket made with `onread`:
// transport-tcp src/target/socket-read.ts), not into a Buffer Node allocates per read, which
// made this ceiling's write row pay for garbage collection that the target no longer pays. Prints {"port":N,"pid":N} when listening; a line "stats" on
// stdin answers {"cpuUs","ios","mem"} (process.cpuUsage, requests answered, memoryUsage).
// With a busy-poll window (µs, third argument; 0 = off) the server polls each socket after
// answering, as nvmu's low-latency mode does (busy-poll.mjs): the raw floor of that technique.
// A fourth argument 'loop' polls by keeping the event loop turning instead (LoopPoll: no native
// call), for comparison.
// argv: [host] [port] [busy-poll µs] [native|loop]
import { BusyPoll, LoopPoll } from './busy-poll.mjs';
import { serveStats } from './report.mjs';
import { Socket, createServer } from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 0);
const busyPollUs = Number(process.argv[4] ?? 0);
const loopPoll = process.argv[5] === 'loop';
const REQ = 64;
const RESP = 16;
const MAX_PAYLOAD = 1024 * 1024;
// At most QD answers are unconsumed by the client at any time (it waits for one before sending
// the next request), so a ring far deeper than any QD is never overwritten while still queued.
const RING = 4096;
const payload = Buffer.alloc(MAX_PAYLOAD, 0x5a);
/** Where write payloads are copied to (one request's worth, reused). */
const sink = Buffer.alloc(MAX_PAYLOAD);
let ios = 0;

/** Views of `payload` by length, made once per distinct length (a run uses one or two). */
const views = new Map();
function payloadOf(len) {
  let v = views.get(len);
  if (v === undefined) {
    v = payload.subarray(0, len);
    views.set(len, v);
  }
  return v;
}

/** The one read buffer of the server (each read is consumed before the next). */
const readBuf = Buffer.allocUnsafeSlow(256 * 1024);

function serve(accepted) {
  /** @type {BusyPoll | LoopPoll | undefined} */
  let poller;
  // Move the accepted (paused) socket's handle to a socket that reads into readBuf.
  const handle = accepted._handle;
  accepted._handle = null;
  accepted.destroy();
  const sock = new Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: readBuf,
      callback: (n) => {
        poller?.hit?.();
        onBytes(readBuf, n);
        poller?.spin();
        return true;
      },
    },
  });
  const ringMem = Buffer.alloc(RING * RESP);
  const ring = Array.from({ length: RING }, (_, i) => ringMem.subarray(i * RESP, (i + 1) * RESP));
  let ringAt = 0;
  const hdr = Buffer.alloc(REQ); // a header split across reads is gathered here
  let hdrHave = 0;
  let skip = 0; // write payload bytes still to come
  let skipAt = 0; // where in `sink` the next payload byte goes

  const answer = (h, ho) => {
    const opcode = h[ho];
    const cid = h.readUInt16LE(ho + 2);
    const len = h.readUInt32LE(ho + 4);
    if (len > MAX_PAYLOAD) {
      sock.destroy();
      return;
    }
    const r = ring[ringAt];
    ringAt = (ringAt + 1) % RING;
    const dataLen = opcode === 0x02 ? len : 0;
    r.writeUInt32LE(dataLen, 0);
    r.writeUInt16LE(cid, 12);
    r.writeUInt16LE(0, 14);
    sock.write(r);
    if (dataLen > 0) sock.write(payloadOf(dataLen));
    if (opcode === 0x01) {
      skip = len;
      skipAt = 0;
    }
    ios++;
  };

  const onBytes = (d, n) => {
    let off = 0;
    sock.cork();
    while (off < n) {
      if (skip > 0) {
        // A write's payload is copied out of the read buffer (as a target must put it where
        // the command's data goes: nvmu's copies it into the request's buffer).
        const k = Math.min(skip, n - off);
        d.copy(sink, skipAt, off, off + k);
        skipAt += k;
        skip -= k;
        off += k;
        continue;
      }
      if (hdrHave === 0 && n - off >= REQ) {
        answer(d, off);
        off += REQ;
        continue;
      }
      const k = Math.min(REQ - hdrHave, n - off);
      d.copy(hdr, hdrHave, off, off + k);
      hdrHave += k;
      off += k;
      if (hdrHave === REQ) {
        hdrHave = 0;
        answer(hdr, 0);
      }
    }
    sock.uncork();
  };
  // The answers are written (uncork wrote them): poll for the next request, or wait in epoll.
  poller = busyPollUs > 0 ? (loopPoll ? new LoopPoll(busyPollUs) : new BusyPoll(sock, busyPollUs, onBytes)) : undefined;
  sock.on('error', () => undefined);
}

const server = createServer({ noDelay: true, pauseOnConnect: true }, serve);
server.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pid: process.pid })}\n`);
});

serveStats(() => ios);
