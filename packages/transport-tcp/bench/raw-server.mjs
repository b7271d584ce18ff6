// The ceiling for the NVMe/TCP bench: a minimal request/response server over TCP. Every 64-byte
// request gets a 4 KiB + 16-byte response (what a 4 KiB read costs on the wire at the least:
// the data and a completion), written in one batch per read event. Prints {"port":N}.
import { createServer } from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const REQ = 64;
const RESP = Number(process.argv[3] ?? 4096 + 16);
const resp = Buffer.alloc(RESP, 0x5a);
const server = createServer({ noDelay: true }, (sock) => {
  let partial = 0;
  sock.on('data', (d) => {
    const total = partial + d.length;
    const n = Math.floor(total / REQ);
    partial = total % REQ;
    if (n === 0) return;
    sock.cork();
    for (let i = 0; i < n; i++) sock.write(resp);
    process.nextTick(() => sock.uncork());
  });
  sock.on('error', () => undefined);
});
server.listen(0, host, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
// A line 'cpu' on stdin answers with this process's CPU time so far (µs), for the bench.
import { createInterface as nvmuRl } from 'node:readline';
nvmuRl({ input: process.stdin }).on('line', (l) => {
  if (l.trim() === 'cpu') {
    const u = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpu: u.user + u.system })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
