import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pinning, RAW_CLIENT, RAW_SERVER, ServerChild, runToEnd, startRawServer } from '../src/index.js';

const unpinned: Pinning = { enabled: false, note: 'test' };

function request(opcode: number, cid: number, len: number, payload = 0): Buffer {
  const b = Buffer.alloc(64 + payload, 0x33);
  b.fill(0, 0, 64);
  b[0] = opcode;
  b.writeUInt16LE(cid, 2);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(1234, 8);
  return b;
}

/** Everything the socket receives, from the start (so nothing is missed between reads). */
class Inbox {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  constructor(sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }

  /** The next `n` bytes; then checks nothing more arrives within 50 ms. */
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) await new Promise<void>((r) => (this.wake = r));
    await new Promise((r) => setTimeout(r, 50));
    expect(this.buf.length).toBe(n);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

describe('raw request/response pair', () => {
  let server: { child: ServerChild; port: number };
  let sock: Socket;
  let inbox: Inbox;

  beforeAll(async () => {
    server = await startRawServer(unpinned);
    sock = connect({ host: '127.0.0.1', port: server.port, noDelay: true });
    await once(sock, 'connect');
    inbox = new Inbox(sock);
  });
  afterAll(async () => {
    sock.destroy();
    await server.child.stop();
  });

  it('answers a read with a 16-byte response and the payload, even when the header comes in pieces', async () => {
    const req = request(0x02, 7, 4096);
    sock.write(req.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 20));
    sock.write(req.subarray(10));
    const ans = await inbox.take(16 + 4096);
    expect(ans.readUInt32LE(0)).toBe(4096);
    expect(ans.readUInt16LE(12)).toBe(7);
    expect(ans.readUInt16LE(14)).toBe(0);
    expect(ans.subarray(16).every((b) => b === 0x5a)).toBe(true);
  });

  it('answers a write (64 bytes + payload) with 16 bytes only', async () => {
    const req = request(0x01, 9, 4096, 4096);
    sock.write(req.subarray(0, 100));
    await new Promise((r) => setTimeout(r, 20));
    sock.write(req.subarray(100));
    const ans = await inbox.take(16);
    expect(ans.readUInt32LE(0)).toBe(0);
    expect(ans.readUInt16LE(12)).toBe(9);
  });

  it('answers pipelined requests in order, 128 KiB reads included', async () => {
    sock.write(Buffer.concat([request(0x02, 1, 131072), request(0x01, 2, 4096, 4096), request(0x02, 3, 4096)]));
    const ans = await inbox.take(16 + 131072 + 16 + 16 + 4096);
    expect(ans.readUInt16LE(12)).toBe(1);
    expect(ans.readUInt32LE(0)).toBe(131072);
    const second = 16 + 131072;
    expect(ans.readUInt16LE(second + 12)).toBe(2);
    expect(ans.readUInt32LE(second)).toBe(0);
    expect(ans.readUInt16LE(second + 16 + 12)).toBe(3);
  });

  it('reports CPU time, requests served and memory', async () => {
    const s = await server.child.stats();
    expect(s.ios).toBe(5);
    expect(s.cpuUs).toBeGreaterThan(0);
    expect(s.mem.rss).toBeGreaterThan(0);
  });

  it('the client keeps QD requests going and reports figures', async () => {
    for (const mode of ['read', 'write']) {
      const out = await runToEnd(process.execPath, [RAW_CLIENT, '--port', String(server.port), '--mode', mode, '--qd', '4', '--seconds', '0.3', '--warmup', '0'], 'raw-client');
      const r = JSON.parse(out) as { ios: number; iops: number; mibps: number; latencyUs: { avg: number; p50: number; p99: number } };
      expect(r.ios).toBeGreaterThan(0);
      expect(r.iops).toBeGreaterThan(0);
      expect(r.mibps).toBeCloseTo((r.iops * 4096) / 1048576, 6);
      expect(r.latencyUs.p99).toBeGreaterThanOrEqual(r.latencyUs.p50);
    }
  });
});

describe('raw request/response pair, busy-polling (the low-latency floor)', () => {
  let server: { child: ServerChild; port: number };

  beforeAll(async () => {
    // A 10 ms window: requests sent soon after an answer are read by the server's spin.
    const { child, hello } = await ServerChild.start('raw-server', unpinned, 0, [RAW_SERVER, '127.0.0.1', '0', '10000']);
    server = { child, port: Number(hello.port) };
  });
  afterAll(async () => {
    await server.child.stop();
  });

  it('answers requests that arrive during its spin, headers in pieces included', async () => {
    const sock = connect({ host: '127.0.0.1', port: server.port, noDelay: true });
    await once(sock, 'connect');
    const inbox = new Inbox(sock);
    try {
      sock.write(request(0x02, 1, 4096));
      expect((await inbox.take(16 + 4096)).readUInt16LE(12)).toBe(1);
      // The server spins for 10 ms after each answer (Inbox.take waited 50 ms: send two at once).
      for (let cid = 2; cid < 6; cid++) {
        const req = cid % 2 === 0 ? request(0x02, cid, 4096) : request(0x01, cid, 4096, 4096);
        sock.write(Buffer.concat([request(0x02, 100 + cid, 512), req.subarray(0, 10)]));
        await new Promise((r) => setTimeout(r, 1));
        sock.write(req.subarray(10));
        const ans = await inbox.take(16 + 512 + 16 + (cid % 2 === 0 ? 4096 : 0));
        expect(ans.readUInt16LE(12)).toBe(100 + cid);
        expect(ans.readUInt16LE(16 + 512 + 12)).toBe(cid);
      }
    } finally {
      sock.destroy();
    }
  });

  it('the busy-polling client keeps QD requests going against it', async () => {
    for (const [mode, qd] of [['read', '1'], ['write', '4']] as const) {
      const out = await runToEnd(process.execPath, [RAW_CLIENT, '--port', String(server.port), '--mode', mode, '--qd', qd, '--seconds', '0.3', '--warmup', '0', '--busy-poll', '100'], 'raw-client');
      const r = JSON.parse(out) as { ios: number; iops: number };
      expect(r.ios).toBeGreaterThan(0);
    }
  });
});
