/**
 * The target's write path (host-to-controller data): in-capsule data (up to the in-capsule size,
 * 8 KiB by default) and R2T / H2CData above it, every byte verified at queue depths 1 to 128,
 * with and without digests, through the transport-wide read buffer the target's sockets read
 * into (socket-read.ts) — also with several connections reading into it at once. Then what a
 * bad H2CData gets (a C2HTermReq with the FES of NVMe/TCP 1.0 Figure 26, and the connection
 * closed: Linux nvmet's nvmet_tcp_handle_h2c_data_pdu closes for the same cases), and that a
 * connection dying in the middle of a write gives back every buffer it held.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { PduType, TermReqFes, TermReqView } from '@nvmu/nvme-spec';

import { RawConn, connectData, pattern, setSgl, sqeConnect, sqeRw } from './helpers/raw.js';
import { cqeStatus, hostConnect, startMiniTarget, type HostConn, type MiniTarget } from './helpers/setup.js';

let target: MiniTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

/** `qd` writes of `size` bytes at once (each its own pattern), then every one read back. */
async function writeAndVerify(h: HostConn, disk: Buffer, qd: number, size: number, seed: number): Promise<void> {
  const blocks = size / 512;
  const datas = Array.from({ length: qd }, (_v, i) => pattern(size, seed * 1000 + i));
  const cqes = await Promise.all(datas.map((d, i) => h.cmd(sqeRw(0x01, i, i * blocks, blocks), d, 'h2c')));
  for (const c of cqes) expect(cqeStatus(c)).toBe(0);
  datas.forEach((d, i) => {
    expect(disk.subarray(i * size, (i + 1) * size).equals(d)).toBe(true);
  });
  const outs = datas.map(() => Buffer.alloc(size));
  const rcqes = await Promise.all(outs.map((o, i) => h.cmd(sqeRw(0x02, i, i * blocks, blocks), o, 'c2h')));
  for (const c of rcqes) expect(cqeStatus(c)).toBe(0);
  outs.forEach((o, i) => {
    expect(o.equals(datas[i] ?? Buffer.alloc(0))).toBe(true);
  });
}

describe('write path: data verified', () => {
  it.each([
    ['no digests', false, false],
    ['header and data digests', true, true],
  ])('writes in-capsule (4 KiB, 8 KiB) and through R2T (16 KiB, 128 KiB) at QD 1 to 128 (%s)', async (_n, hdgst, ddgst) => {
    target = await startMiniTarget('127.0.0.1', { maxQueueDepth: 256 });
    const t = target;
    const h = await hostConnect(t.port, '127.0.0.1', { qid: 1, queueSize: 129, host: { hdgst, ddgst } });
    let seed = 1;
    for (const size of [4096, 8192, 16384, 131072]) {
      for (const qd of [1, 16, 128]) {
        const r2ts = t.transport.stats().r2ts;
        await writeAndVerify(h, t.core.disk, qd, size, seed++);
        const asked = t.transport.stats().r2ts - r2ts;
        // Up to the in-capsule size (8 KiB) the data rides in the capsule: no R2T at all.
        if (size <= 8192) expect(asked).toBe(0);
        else expect(asked).toBeGreaterThanOrEqual(qd);
      }
    }
    expect(t.transport.stats().ddgstConnections).toBe(ddgst ? 1 : 0);
    expect(t.transport.bufferPoolStats().inUse).toBe(0);
    await h.transport.close();
  });

  it('keeps the data of four connections apart while they all read into the one transport buffer', async () => {
    target = await startMiniTarget('127.0.0.1', { maxQueueDepth: 64 });
    const t = target;
    const hosts = await Promise.all([1, 2, 3, 4].map((qid) => hostConnect(t.port, '127.0.0.1', { qid, queueSize: 33 })));
    // Each connection writes 32 × 4 KiB and 4 × 32 KiB into its own quarter of the disk, all at once.
    const quarter = t.core.disk.length / 4;
    const jobs = hosts.flatMap((h, k) => [
      ...Array.from({ length: 32 }, (_v, i) => ({ h, cid: i, off: k * quarter + i * 4096, data: pattern(4096, k * 100 + i) })),
      ...Array.from({ length: 4 }, (_v, i) => ({ h, cid: 32 - 4 + i, off: k * quarter + 256 * 1024 + i * 32768, data: pattern(32768, k * 100 + 50 + i) })),
    ]);
    // CIDs 28-31 are used twice per connection: run the 4 KiB ones first, then the rest.
    const small = jobs.filter((j) => j.data.length === 4096);
    const big = jobs.filter((j) => j.data.length !== 4096);
    for (const set of [small, big]) {
      const cqes = await Promise.all(set.map((j) => j.h.cmd(sqeRw(0x01, j.cid, j.off / 512, j.data.length / 512), j.data, 'h2c')));
      for (const c of cqes) expect(cqeStatus(c)).toBe(0);
    }
    for (const j of jobs) expect(t.core.disk.subarray(j.off, j.off + j.data.length).equals(j.data)).toBe(true);
    // Every connection read into the transport's buffer (no Buffer of Node's per read).
    expect(t.transport.stats().socketReads).toBeGreaterThan(0);
    await Promise.all(hosts.map((h) => h.transport.close()));
  });

  it('keeps the input of a connection stalled on its request pool while another connection reads into the shared buffer', async () => {
    // 4 requests per connection (the test core keeps the transport's depth): 48 capsules sent at
    // once overrun them, so the connection stalls holding the rest of what it read.
    target = await startMiniTarget('127.0.0.1', { maxQueueDepth: 4, maxAdminQueueDepth: 4 });
    const t = target;
    // Completions a turn later, so a stalled connection stays stalled while the other one reads.
    t.core.asyncComplete = true;
    const raw = await RawConn.open(t.port);
    await raw.icreq();
    raw.send(raw.capsule(setSgl(sqeConnect(7, 1, 3), 1024, true), connectData('nqn.test:sub', 'nqn.test:host')));
    expect((await raw.readPdu()).type).toBe(PduType.CapsuleResp);
    const other = await hostConnect(t.port, '127.0.0.1', { qid: 2, queueSize: 65 });
    const mine = Array.from({ length: 48 }, (_v, i) => pattern(4096, 500 + i));
    const theirs = Array.from({ length: 64 }, (_v, i) => pattern(4096, 900 + i));
    raw.send(Buffer.concat(mine.map((d, i) => raw.capsule(setSgl(sqeRw(0x01, i, i * 8, 8), 4096, true), d))));
    const done = Promise.all(theirs.map((d, i) => other.cmd(sqeRw(0x01, i, 4096 + i * 8, 8), d, 'h2c')));
    for (const _d of mine) {
      const r = await raw.readPdu();
      expect(r.type).toBe(PduType.CapsuleResp);
      expect(cqeStatus(r.bytes.subarray(8, 24))).toBe(0);
    }
    for (const c of await done) expect(cqeStatus(c)).toBe(0);
    mine.forEach((d, i) => {
      expect(t.core.disk.subarray(i * 4096, (i + 1) * 4096).equals(d)).toBe(true);
    });
    theirs.forEach((d, i) => {
      expect(t.core.disk.subarray(4096 * 512 + i * 4096, 4096 * 512 + (i + 1) * 4096).equals(d)).toBe(true);
    });
    raw.destroy();
    await other.transport.close();
  });
});

async function connectedRaw(port: number, maxr2t = 0): Promise<RawConn> {
  const raw = await RawConn.open(port);
  await raw.icreq({ maxr2t });
  raw.send(raw.capsule(setSgl(sqeConnect(7, 1, 31), 1024, true), connectData('nqn.test:sub', 'nqn.test:host')));
  expect((await raw.readPdu()).type).toBe(PduType.CapsuleResp);
  return raw;
}

describe('write path: responses', () => {
  it.each([
    ['no digests', false],
    ['header digests', true],
  ])('sends the CapsuleResps of a turn as one chunk, each with its own CQE (%s)', async (_n, hdgst) => {
    target = await startMiniTarget('127.0.0.1');
    const t = target;
    const h = await hostConnect(t.port, '127.0.0.1', { qid: 1, queueSize: 65, host: { hdgst } });
    const n = 64;
    const datas = Array.from({ length: n }, (_v, i) => pattern(4096, 700 + i));
    const sqes = datas.map((_d, i) => sqeRw(0x01, i, i * 8, 8));
    await Promise.all(datas.map((d, i) => h.cmd(sqes[i] ?? Buffer.alloc(64), d, 'h2c'))); // warm
    const { Socket } = await import('node:net');
    const write = vi.spyOn(Socket.prototype, 'write');
    const reads0 = t.transport.stats().socketReads;
    try {
      for (let round = 0; round < 5; round++) {
        const cqes = await Promise.all(datas.map((d, i) => h.cmd(sqes[i] ?? Buffer.alloc(64), d, 'h2c')));
        // Each CQE names its own command (the host matched them by CID) and says success.
        cqes.forEach((c, i) => {
          expect(c.readUInt16LE(12)).toBe(i);
          expect(cqeStatus(c)).toBe(0);
        });
      }
      const targetWrites = write.mock.contexts.filter((s) => (s as InstanceType<typeof Socket>).localPort === t.port).length;
      const reads = t.transport.stats().socketReads - reads0;
      // At most one socket.write per turn of input (a turn's run of responses), not one per
      // command; plus one where a run is cut at the end of the ring (2 slots per request: 320
      // responses over 132 slots wrap at most 3 times).
      expect(targetWrites).toBeLessThanOrEqual(reads + 3);
      expect(targetWrites).toBeLessThan(5 * n);
    } finally {
      write.mockRestore();
    }
    await h.transport.close();
  });
});

describe('write path: bad H2CData', () => {
  it('an H2CData without data (DATAL 0, PLEN = HLEN): TermReq Invalid Header Field, closed', async () => {
    target = await startMiniTarget('127.0.0.1');
    const raw = await connectedRaw(target.port);
    raw.send(raw.capsule(setSgl(sqeRw(0x01, 1, 0, 8), 4096, false)));
    const r2t = await raw.readPdu();
    expect(r2t.type).toBe(PduType.R2T);
    // An H2CData whose header says no data: PLEN 24 (Linux nvmet: "H2CData PDU len 0 is invalid").
    const h = raw.h2cData(1, r2t.bytes.readUInt16LE(10), 0, Buffer.alloc(0));
    raw.send(h);
    const term = await raw.readPdu();
    expect(term.type).toBe(PduType.C2HTermReq);
    expect(new TermReqView(term.bytes).fes).toBe(TermReqFes.InvalidHeaderField);
    await raw.waitClosed();
    expect(target.transport.bufferPoolStats().inUse).toBe(0);
  });

  it('an H2CData whose data runs past the end of the command (pool buffer): Data Transfer Out Of Range, closed', async () => {
    target = await startMiniTarget('127.0.0.1', { maxH2CData: 65536 });
    const raw = await connectedRaw(target.port);
    // 40 KiB write: a pool buffer (above the 8 KiB in-capsule size) and one R2T for all of it.
    raw.send(raw.capsule(setSgl(sqeRw(0x01, 3, 0, 80), 40960, false)));
    const r2t = await raw.readPdu();
    expect(r2t.type).toBe(PduType.R2T);
    expect(r2t.bytes.readUInt32LE(16)).toBe(40960);
    expect(target.transport.bufferPoolStats().inUse).toBe(1);
    const ttag = r2t.bytes.readUInt16LE(10);
    raw.send(raw.h2cData(3, ttag, 0, pattern(32768, 1), false));
    // DATAO right, DATAL 16 KiB: 8 KiB past the command's 40 KiB.
    raw.send(raw.h2cData(3, ttag, 32768, pattern(16384, 2)));
    const term = await raw.readPdu();
    expect(term.type).toBe(PduType.C2HTermReq);
    const v = new TermReqView(term.bytes);
    expect(v.fes).toBe(TermReqFes.DataTransferOutOfRange);
    expect(v.fei).toBe(12); // DATAO
    await raw.waitClosed();
    for (let i = 0; i < 100 && target.transport.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(target.transport.bufferPoolStats().inUse).toBe(0);
    // Nothing of the refused data reached the disk beyond what was asked for.
    expect(target.core.disk.subarray(40960, 49152).equals(Buffer.alloc(8192))).toBe(true);
  });
});

describe('write path: a connection dying mid-write gives back what it held', () => {
  async function closedAndEmpty(t: MiniTarget): Promise<void> {
    for (let i = 0; i < 200 && t.transport.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.transport.connectionCount).toBe(0);
    expect(t.transport.bufferPoolStats()).toMatchObject({ inUse: 0, waiting: 0 });
    expect(t.transport.stats().connectionBytes).toBe(0);
  }

  it.each([
    ['in the middle of an H2CData PDU (pool buffer held, part of its data read)', 'h2c'],
    ['in the middle of in-capsule data', 'capsule'],
    ['with a capsule header only half sent', 'header'],
  ] as const)('%s', async (_name, where) => {
    target = await startMiniTarget('127.0.0.1', { numSharedBuffers: 4, sharedBuffersPerConnection: 4 });
    const t = target;
    const raw = await connectedRaw(t.port, 3);
    if (where === 'h2c') {
      raw.send(raw.capsule(setSgl(sqeRw(0x01, 1, 0, 128), 65536, false)));
      const r2t = await raw.readPdu();
      expect(r2t.type).toBe(PduType.R2T);
      const pdu = raw.h2cData(1, r2t.bytes.readUInt16LE(10), 0, pattern(65536, 3));
      raw.send(pdu.subarray(0, 30000));
      // The target has taken part of the data into the pool buffer.
      for (let i = 0; i < 100 && t.transport.stats().bytesRead < 30000; i++) await new Promise((r) => setTimeout(r, 10));
      expect(t.transport.bufferPoolStats().inUse).toBe(1);
    } else {
      const capsule = raw.capsule(setSgl(sqeRw(0x01, 1, 0, 8), 4096, true), pattern(4096, 4));
      raw.send(capsule.subarray(0, where === 'capsule' ? 2000 : 40));
    }
    await new Promise((r) => setTimeout(r, 50));
    raw.destroy();
    await closedAndEmpty(t);
    // The whole pool serves the next connection.
    const h = await hostConnect(t.port, '127.0.0.1', { qid: 1 });
    const data = pattern(131072, 5);
    expect(cqeStatus(await h.cmd(sqeRw(0x01, 1, 0, 256), data, 'h2c'))).toBe(0);
    expect(t.core.disk.subarray(0, 131072).equals(data)).toBe(true);
    await h.transport.close();
  });
});
