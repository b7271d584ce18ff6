/**
 * The TCP host and target transports against each other over loopback, with a small in-memory
 * core (@nvmu/test-kit's MiniCore): every data path of NVMe/TCP 1.0 §3.3 — in-capsule data,
 * R2T/H2CData with several R2Ts outstanding, C2HData split and SUCCESS — with and without
 * digests, on IPv4 and IPv6.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { hostConnect, startMiniTarget, cqeStatus, type MiniTarget } from './helpers/setup.js';
import { RawConn, pattern, sqeRw } from './helpers/raw.js';
import { BLOCK } from '@nvmu/test-kit';

let target: MiniTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

const SIZES = [512, 4096, 8192, 8704, 16384, 65536, 131072];

describe.each([
  ['127.0.0.1', false, false],
  ['127.0.0.1', true, false],
  ['127.0.0.1', false, true],
  ['127.0.0.1', true, true],
  ['::1', false, false],
  ['::1', true, true],
])('host ↔ target on %s (hdgst %s, ddgst %s)', (addr, hdgst, ddgst) => {
  it('writes patterns of many sizes (in-capsule, R2T, several R2Ts) and reads them back', async () => {
    // Small MAXH2CDATA / R2T / C2H sizes so a 128 KiB command takes several of each.
    target = await startMiniTarget(addr, { maxH2CData: 16384, r2tSize: 32768, maxR2T: 4, c2hDataSize: 16384 });
    const h = await hostConnect(target.port, addr, { qid: 1, queueSize: 64, host: { hdgst, ddgst, maxr2t: 3 } });
    let lba = 0;
    let cid = 0;
    for (const size of SIZES) {
      const data = pattern(size, size);
      const w = await h.cmd(sqeRw(0x01, cid++, lba, size / BLOCK), data, 'h2c');
      expect(cqeStatus(w)).toBe(0);
      const out = Buffer.alloc(size);
      const r = await h.cmd(sqeRw(0x02, cid++, lba, size / BLOCK), out, 'c2h');
      expect(cqeStatus(r)).toBe(0);
      expect(out.equals(data)).toBe(true);
      expect(target.core.disk.subarray(lba * BLOCK, lba * BLOCK + size).equals(data)).toBe(true);
      lba += size / BLOCK;
    }
    await h.transport.close();
  });
});

describe('data paths', () => {
  it('uses a data offset inside the caller buffer for both directions', async () => {
    target = await startMiniTarget();
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1 });
    const big = Buffer.alloc(3 * 65536);
    pattern(65536, 9).copy(big, 65536);
    expect(cqeStatus(await h.cmd(sqeRw(0x01, 1, 100, 128), big, 'h2c', 65536, 65536))).toBe(0);
    const back = Buffer.alloc(3 * 65536);
    expect(cqeStatus(await h.cmd(sqeRw(0x02, 2, 100, 128), back, 'c2h', 65536, 65536))).toBe(0);
    expect(back.subarray(65536, 131072).equals(pattern(65536, 9))).toBe(true);
    expect(back.subarray(0, 65536).every((b) => b === 0)).toBe(true);
    await h.transport.close();
  });

  it('completes reads through SUCCESS-flagged C2HData when the host disabled SQ flow control', async () => {
    target = await startMiniTarget('127.0.0.1', { c2hDataSize: 4096 });
    // CATTR bit 2: disable SQ flow control (NVMe-oF 1.1 §3.3), which allows SUCCESS.
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1, cattr: 0x04 });
    await h.cmd(sqeRw(0x01, 1, 0, 32), pattern(16384, 3), 'h2c');
    const out = Buffer.alloc(16384);
    const cqe = await h.cmd(sqeRw(0x02, 2, 0, 32), out, 'c2h');
    expect(cqeStatus(cqe)).toBe(0);
    expect(cqe.readUInt16LE(12)).toBe(2);
    expect(cqe.readUInt16LE(10)).toBe(1); // SQID synthesised
    expect(out.equals(pattern(16384, 3))).toBe(true);
    await h.transport.close();
  });

  it('carries Connect data through R2T when the host uses no in-capsule data', async () => {
    target = await startMiniTarget();
    const before = target.transport.stats().r2ts;
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1, icd: 0 });
    expect(target.transport.stats().r2ts).toBe(before + 1);
    expect([...target.core.qpairs].some((q) => q.qid === 1 && q.subnqn === 'nqn.test:sub')).toBe(true);
    await h.cmd(sqeRw(0x01, 1, 0, 8), pattern(4096, 1), 'h2c');
    expect(target.transport.stats().r2ts).toBe(before + 2);
    await h.transport.close();
  });

  it('sends the whole asked-for length when the core returns less (zero-filled)', async () => {
    target = await startMiniTarget();
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 0 });
    const sqe = Buffer.alloc(64);
    sqe[0] = 0x06; // the mini core's "Identify": 4096 bytes of (i * 7) & 0xff
    sqe.writeUInt16LE(3, 2);
    const out = Buffer.alloc(8192, 0xff);
    expect(cqeStatus(await h.cmd(sqe, out, 'c2h'))).toBe(0);
    for (let i = 0; i < 4096; i++) expect(out[i]).toBe((i * 7) & 0xff);
    expect(out.subarray(4096).every((b) => b === 0)).toBe(true);
    await h.transport.close();
  });

  it('returns an error CQE (no data) for a read beyond the disk', async () => {
    target = await startMiniTarget();
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1 });
    const cqe = await h.cmd(sqeRw(0x02, 1, target.core.disk.length / BLOCK, 8), Buffer.alloc(4096), 'c2h');
    expect(cqeStatus(cqe)).toBe(0x80);
    await h.transport.close();
  });

  it('keeps 128 commands in flight on one queue and many queues at once', async () => {
    target = await startMiniTarget('127.0.0.1', { maxQueueDepth: 128 });
    const queues = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((qid) => hostConnect(target!.port, '127.0.0.1', { qid, queueSize: 129 })));
    const jobs: Promise<void>[] = [];
    for (const [qi, h] of queues.entries()) {
      for (let cid = 0; cid < 128; cid++) {
        const lba = (qi * 128 + cid) * 8;
        const data = pattern(4096, lba + 1);
        jobs.push(
          h.cmd(sqeRw(0x01, cid, lba, 8), data, 'h2c').then(async (cqe) => {
            expect(cqeStatus(cqe)).toBe(0);
            const out = Buffer.alloc(4096);
            const r = await h.cmd(sqeRw(0x02, cid, lba, 8), out, 'c2h');
            expect(cqeStatus(r)).toBe(0);
            expect(out.equals(data)).toBe(true);
          }),
        );
      }
    }
    await Promise.all(jobs);
    await Promise.all(queues.map((h) => h.transport.close()));
  });

  it('honours HPDA (host data alignment) in C2HData PDO', async () => {
    target = await startMiniTarget();
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1, host: { hpda: 7, hdgst: true } });
    await h.cmd(sqeRw(0x01, 1, 0, 64), pattern(32768, 5), 'h2c');
    const out = Buffer.alloc(32768);
    expect(cqeStatus(await h.cmd(sqeRw(0x02, 2, 0, 64), out, 'c2h'))).toBe(0);
    expect(out.equals(pattern(32768, 5))).toBe(true);
    await h.transport.close();
  });

  it('stops listening without dropping the connections it has', async () => {
    target = await startMiniTarget();
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1 });
    await target.transport.stopListen({ trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(target.port) });
    await expect(RawConn.open(target.port)).rejects.toThrow(/ECONNREFUSED/);
    expect(cqeStatus(await h.cmd(sqeRw(0x01, 1, 0, 8), pattern(4096, 1), 'h2c'))).toBe(0);
    await h.transport.close();
  });

  it('drops a connection that never sends its ICReq', async () => {
    target = await startMiniTarget('127.0.0.1', { icTimeoutMs: 200 });
    const raw = await RawConn.open(target.port);
    await raw.waitClosed(3000);
    expect(raw.pending).toBe(0);
    expect(target.transport.stats().icreqs).toBe(0);
  });

  it('reports a dropped connection to the handler and fails later submits', async () => {
    target = await startMiniTarget();
    target.core.asyncComplete = true;
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1 });
    const pending = h.cmd(sqeRw(0x02, 5, 0, 8), Buffer.alloc(4096), 'c2h');
    await target.transport.close();
    const cqe = await pending;
    // Either the read completed before the close, or the handler saw the disconnect.
    expect([0, 0x7fff]).toContain(cqeStatus(cqe));
    expect(await h.col.disconnectedEvent).toBeInstanceOf(Error);
    expect(() => { h.qp.submit(sqeRw(0x02, 6, 0, 8), Buffer.alloc(4096), 0, 4096, 'c2h'); }).toThrow();
    target = undefined;
  });
});

describe('target options', () => {
  it('refuses a MAXH2CDATA below 4096 or not a multiple of 4, and an IOCCSZ that is not whole 16-byte units', async () => {
    const { TcpTargetTransport } = await import('../src/target/transport.js');
    expect(() => new TcpTargetTransport({ maxH2CData: 4092 })).toThrow(RangeError);
    expect(() => new TcpTargetTransport({ maxH2CData: 4098 })).toThrow(RangeError);
    expect(() => new TcpTargetTransport({ inCapsuleDataSize: 100 })).toThrow(RangeError);
    expect(() => new TcpTargetTransport({ numSharedBuffers: 0 })).toThrow(RangeError);
    const { transportIdentifyFields } = await import('@nvmu/nvmf');
    expect(transportIdentifyFields(new TcpTargetTransport({ maxH2CData: 4096 })).ioccsz).toBe((64 + 8192) / 16);
  });
});
