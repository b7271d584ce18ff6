// The shared-memory ring ceiling, server half: what vfio-user's NVMe queues cost without NVMe.
// The client sends one memfd over a UNIX socket (SCM_RIGHTS) holding, per queue, a doorbell
// pair, a submission ring of 64-byte entries and a completion ring of 16-byte entries (the
// shapes of NVMe's SQ and CQ). This process maps it and polls the submission tails the way
// nvmu's vfio-user target does (every event-loop turn while there is work, backing off to
// timers up to 4 ms when idle); for each entry it posts a completion carrying the entry's id and
// the phase bit. No data moves (a null device's reads), no interrupts (the client polls).
// Prints {"path","pid"} when listening; a line "stats" on stdin answers {"cpuUs","ios","mem"}.
// argv: <socket path>
import { serveStats } from './report.mjs';
import { FdWatcher, READABLE, accept, closeFd, mmap, recvmsg, unixListen } from '@nvmu/native';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: shm-ring-server.mjs <socket path>\n');
  process.exit(2);
}
let ios = 0;
const listenFd = unixListen(path);

/** Layout, shared with shm-ring-client.mjs: page 0 the doorbells (queue q: SQ tail word 2q, CQ head 2q+1), then per queue its SQ and CQ. */
function serve(fd) {
  const hdr = new Uint8Array(16);
  const fds = new Int32Array(1).fill(-1);
  const n = recvmsg(fd, hdr, 0, 16, fds);
  if (n !== 16 || fds[0] < 0) {
    closeFd(fd);
    return;
  }
  const dv = new DataView(hdr.buffer);
  const queues = dv.getUint32(0, true);
  const entries = dv.getUint32(4, true);
  const bytes = dv.getUint32(8, true);
  const mem = mmap(fds[0], 0, bytes);
  closeFd(fds[0]);
  const db = new Uint32Array(mem, 0, 1024);
  const qs = [];
  let off = 4096;
  for (let q = 0; q < queues; q++) {
    const sq = new Uint32Array(mem, off, entries * 16);
    off += entries * 64;
    const cq = new Uint32Array(mem, off, entries * 4);
    off += Math.ceil((entries * 16) / 4096) * 4096;
    qs.push({ q, sq, cq, head: 0, cqTail: 0, phase: 1 });
  }
  const pass = () => {
    let work = 0;
    for (const s of qs) {
      const tail = db[2 * s.q];
      while (s.head !== tail) {
        const id = s.sq[s.head * 16] >>> 16; // bytes 2-3 of the entry: its id
        s.head = s.head + 1 === entries ? 0 : s.head + 1;
        const c = s.cqTail * 4;
        s.cq[c + 2] = s.head;
        s.cq[c + 3] = id | (s.phase << 16);
        s.cqTail = s.cqTail + 1 === entries ? 0 : s.cqTail + 1;
        if (s.cqTail === 0) s.phase ^= 1;
        work++;
      }
    }
    ios += work;
    return work > 0;
  };
  // nvmu's AdaptivePoller's policy: spin on setImmediate while busy and for 64 idle passes, then
  // timers of 1, 2, 4 ms.
  let idle = 0;
  let delay = 0;
  const run = () => {
    if (pass()) {
      idle = 0;
      delay = 0;
      setImmediate(run);
    } else if (++idle < 64) setImmediate(run);
    else {
      delay = delay === 0 ? 1 : Math.min(delay * 2, 4);
      setTimeout(run, delay).unref();
    }
  };
  setImmediate(run);
}

const w = new FdWatcher(listenFd, () => {
  for (;;) {
    const fd = accept(listenFd);
    if (fd < 0) return;
    // The client sends its 16 bytes with the fd right after connecting.
    const cw = new FdWatcher(fd, () => {
      cw.close();
      serve(fd);
    });
    cw.start(READABLE);
  }
});
w.start(READABLE);
process.stdout.write(`${JSON.stringify({ path, pid: process.pid })}\n`);

serveStats(() => ios);
