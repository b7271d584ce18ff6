/**
 * The transport-wide shared data-buffer pool (SPDK's num_shared_buffers): large transfers borrow
 * a buffer, wait for one when none is free (phase need-buffer), and the memory they use is
 * bounded by the pool whatever the queue depth and the number of connections.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { PduType } from '@nvmu/nvme-spec';

import { SharedBufferPool, type BufferOwner, type BufferWaiter, type DataBuf } from '../src/target/buffer-pool.js';
import { RawConn, connectData, pattern, setSgl, sqeConnect, sqeRw } from './helpers/raw.js';
import { cqeStatus, hostConnect, startMiniTarget, type MiniTarget } from './helpers/setup.js';

function waiter(owner: BufferOwner, got: DataBuf[]): BufferWaiter {
  return { owner, onBuffer: (b) => got.push(b) };
}

describe('SharedBufferPool', () => {
  it('lends up to count buffers, then queues waiters first come first served', () => {
    const pool = new SharedBufferPool(2, 1024, 2);
    const a: BufferOwner = { held: 0 };
    const b: BufferOwner = { held: 0 };
    const got: DataBuf[] = [];
    const b1 = pool.get(waiter(a, got));
    const b2 = pool.get(waiter(b, got));
    expect(b1?.buf.length).toBe(1024);
    expect(b2?.buf.length).toBe(1024);
    if (b1 === undefined || b2 === undefined) throw new Error('pool lent nothing');
    expect(b1.buf.buffer === b2.buf.buffer && b1.buf.byteOffset !== b2.buf.byteOffset).toBe(true); // one slab
    const gotA: DataBuf[] = [];
    const gotB: DataBuf[] = [];
    expect(pool.get(waiter(b, gotB))).toBeUndefined();
    expect(pool.get(waiter(a, gotA))).toBeUndefined();
    expect(pool.stats()).toMatchObject({ inUse: 2, waiting: 2, waits: 2 });
    pool.put(b1, a); // goes to b's waiter (it came first)
    expect(gotB).toEqual([b1]);
    expect(gotA).toEqual([]);
    pool.put(b2, b);
    expect(gotA).toEqual([b2]);
    expect(pool.stats()).toMatchObject({ inUse: 2, maxInUse: 2, waiting: 0 });
    expect([a.held, b.held]).toEqual([1, 1]);
  });

  it('caps what one connection holds, and serves another connection first', () => {
    const pool = new SharedBufferPool(4, 64, 1);
    const a: BufferOwner = { held: 0 };
    const c: BufferOwner = { held: 0 };
    const gotA: DataBuf[] = [];
    const gotC: DataBuf[] = [];
    const first = pool.get(waiter(a, gotA));
    expect(first).toBeDefined();
    // a is at its cap: it waits although three buffers are free.
    expect(pool.get(waiter(a, gotA))).toBeUndefined();
    // c is not blocked behind a's waiter.
    expect(pool.get(waiter(c, gotC))).toBeDefined();
    expect(pool.stats().inUse).toBe(2);
    if (first === undefined) throw new Error('unreachable');
    pool.put(first, a);
    expect(gotA).toEqual([first]);
    expect(a.held).toBe(1);
  });

  it('withdraws cancelled waiters and replaces abandoned buffers', () => {
    const pool = new SharedBufferPool(1, 64, 1);
    const a: BufferOwner = { held: 0 };
    const b: BufferOwner = { held: 0 };
    const gotB: DataBuf[] = [];
    const held = pool.get(waiter(a, []));
    const wb = waiter(b, gotB);
    expect(pool.get(wb)).toBeUndefined();
    pool.cancel(wb);
    expect(pool.stats().waiting).toBe(0);
    const wb2 = waiter(b, gotB);
    expect(pool.get(wb2)).toBeUndefined();
    // a's connection died with the buffer still in the core's hands: a fresh one replaces it.
    pool.abandon(a);
    expect(gotB.length).toBe(1);
    expect(gotB[0]).not.toBe(held);
    expect(gotB[0]?.buf.length).toBe(64);
    expect(pool.stats()).toMatchObject({ inUse: 1, abandoned: 1, waiting: 0 });
    expect([a.held, b.held]).toEqual([0, 1]);
  });
});

describe('target with a small shared pool', () => {
  let target: MiniTarget | undefined;
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });

  it('completes many concurrent large writes and reads on two connections with 2 pool buffers, never lending more', async () => {
    target = await startMiniTarget('127.0.0.1', { numSharedBuffers: 2, sharedBuffersPerConnection: 2, maxIoSize: 65536, c2hDataSize: 16384 });
    const conns = [await hostConnect(target.port, '127.0.0.1', { qid: 1, queueSize: 32 }), await hostConnect(target.port, '127.0.0.1', { qid: 2, queueSize: 32 })];
    const size = 65536;
    const blocks = size / 512;
    const n = 24;
    const writes: Promise<Buffer>[] = [];
    for (let i = 0; i < n; i++) {
      const c = conns[i % 2];
      if (c === undefined) throw new Error('unreachable');
      writes.push(c.cmd(sqeRw(0x01, i, i * blocks, blocks), pattern(size, 100 + i), 'h2c'));
    }
    for (const cqe of await Promise.all(writes)) expect(cqeStatus(cqe)).toBe(0);
    const outs = Array.from({ length: n }, () => Buffer.alloc(size));
    const reads: Promise<Buffer>[] = [];
    for (let i = 0; i < n; i++) {
      const c = conns[i % 2];
      if (c === undefined) throw new Error('unreachable');
      reads.push(c.cmd(sqeRw(0x02, i, i * blocks, blocks), outs[i], 'c2h'));
    }
    for (const cqe of await Promise.all(reads)) expect(cqeStatus(cqe)).toBe(0);
    for (let i = 0; i < n; i++) expect(outs[i]?.equals(pattern(size, 100 + i))).toBe(true);
    const st = target.transport.bufferPoolStats();
    expect(st.maxInUse).toBe(2);
    expect(st.waits).toBeGreaterThan(0); // requests did wait (need-buffer) and still completed
    expect(st.inUse).toBe(0);
    for (const c of conns) await c.transport.close();
  });

  it('small transfers never use the pool', async () => {
    target = await startMiniTarget('127.0.0.1', { numSharedBuffers: 1 });
    const c = await hostConnect(target.port, '127.0.0.1', { qid: 1 });
    const data = pattern(8192, 3);
    expect(cqeStatus(await c.cmd(sqeRw(0x01, 1, 0, 16), data, 'h2c'))).toBe(0);
    const out = Buffer.alloc(8192);
    expect(cqeStatus(await c.cmd(sqeRw(0x02, 2, 0, 16), out, 'c2h'))).toBe(0);
    expect(out.equals(data)).toBe(true);
    expect(target.transport.bufferPoolStats().maxInUse).toBe(0);
    await c.transport.close();
  });

  it('gives back the buffers of a connection that dies holding and waiting for them', async () => {
    target = await startMiniTarget('127.0.0.1', { numSharedBuffers: 2, sharedBuffersPerConnection: 2 });
    const raw = await RawConn.open(target.port);
    await raw.icreq({ maxr2t: 0 });
    raw.send(raw.capsule(setSgl(sqeConnect(7, 1, 31), 1024, true), connectData('nqn.test:sub', 'nqn.test:host')));
    expect((await raw.readPdu()).type).toBe(PduType.CapsuleResp);
    // Four 64 KiB writes: two get a buffer and an R2T, two wait for a buffer. Send no data.
    for (let i = 0; i < 4; i++) raw.send(raw.capsule(setSgl(sqeRw(0x01, i, i * 128, 128), 65536, false)));
    expect((await raw.readPdu()).type).toBe(PduType.R2T);
    expect((await raw.readPdu()).type).toBe(PduType.R2T);
    expect(target.transport.bufferPoolStats()).toMatchObject({ inUse: 2, waiting: 2 });
    raw.destroy();
    for (let i = 0; i < 100 && target.transport.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(target.transport.bufferPoolStats()).toMatchObject({ inUse: 0, waiting: 0 });
    // The whole pool serves the next connection.
    const c = await hostConnect(target.port, '127.0.0.1', { qid: 1 });
    const data = pattern(131072, 9);
    expect(cqeStatus(await c.cmd(sqeRw(0x01, 1, 0, 256), data, 'h2c'))).toBe(0);
    const out = Buffer.alloc(131072);
    expect(cqeStatus(await c.cmd(sqeRw(0x02, 2, 0, 256), out, 'c2h'))).toBe(0);
    expect(out.equals(data)).toBe(true);
    await c.transport.close();
  });
});
