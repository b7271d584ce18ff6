import { afterEach, describe, expect, it } from 'vitest';
import {
  NvmeCommandAbortedError,
  NvmeCommandError,
  NvmeQueueFullError,
  connect,
  type NvmeError,
  type QPair,
} from '@nvmu/client';
import { NvmeStatusError, makeStatus } from '@nvmu/nvme-spec';
import { pattern } from '@nvmu/test-kit';
import { loopbackClientFixture } from '@nvmu/test-kit/loopback';

const f = loopbackClientFixture();
afterEach(f.cleanup);

/** Promise around one callback-path submission. */
function cb<T>(submit: (done: (err: NvmeError | undefined, ctx: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    submit((err, ctx) => {
      if (err !== undefined) reject(err);
      else resolve(ctx);
    });
  });
}

describe('promise I/O', () => {
  it('writes and reads back every size up to MDTS, 512- and 4096-byte blocks', async () => {
    for (const blockSize of [512, 4096]) {
      const c = await f.open({}, { blockSize, blocks: 4096 });
      const ns = c.namespaces[0]!;
      expect(ns.blockSize).toBe(blockSize);
      let lba = 0;
      for (const nlb of [1, 2, 7, 16, c.maxTransferSize / blockSize]) {
        const data = pattern(nlb * blockSize, nlb + blockSize);
        await ns.write(lba, data);
        const back = await ns.read(lba, nlb);
        expect(Buffer.from(back).equals(data)).toBe(true);
        lba += nlb;
      }
      await c.close();
      await f.stop();
    }
  });

  it('splits promise I/O larger than the transfer limit into several commands', async () => {
    const c = await f.open({}, { blocks: 8192 });
    const ns = c.namespaces[0]!;
    const qp = await c.allocIoQPair();
    const size = 1024 * 1024;
    expect(c.maxTransferSize).toBeLessThan(size);
    const data = pattern(size, 99);
    const before = qp.submittedCount;
    await ns.write(10, data, { qpair: qp });
    expect(qp.submittedCount - before).toBe(Math.ceil(size / c.maxTransferSize));
    expect(Buffer.from(await ns.read(10, size / 512, undefined, { qpair: qp })).equals(data)).toBe(true);
    expect(await ns.compare(10, data, { qpair: qp })).toBe(true);
    // The callback path sends exactly one command, so it refuses what does not fit.
    expect(() => { qp.submitRead(ns, 0, size / 512, Buffer.alloc(size), () => undefined, 0); }).toThrow(/transfer limit/);
    expect(qp.outstanding).toBe(0);
  });

  it('writes with FUA, flushes, and reads into a caller buffer', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const data = pattern(2048, 3);
    await ns.write(100, data, { fua: true });
    await ns.flush();
    const buf = Buffer.alloc(2048);
    const back = await ns.read(100, 4, buf);
    expect(back).toBe(buf);
    expect(buf.equals(data)).toBe(true);
  });

  it('write zeroes and deallocate make blocks read as zeros, and leave neighbours alone', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const data = pattern(16 * 512, 11);
    await ns.write(0, data);
    await ns.writeZeroes(2, 3);
    await ns.deallocate([{ lba: 8, nlb: 2 }, { lba: 12, nlb: 1 }]);
    const back = Buffer.from(await ns.read(0, 16));
    const expected = Buffer.from(data);
    expected.fill(0, 2 * 512, 5 * 512);
    expected.fill(0, 8 * 512, 10 * 512);
    expected.fill(0, 12 * 512, 13 * 512);
    expect(back.equals(expected)).toBe(true);
    await ns.writeZeroes(14, 1, { deallocate: true });
    expect(Buffer.from(await ns.read(14, 1)).every((b) => b === 0)).toBe(true);
  });

  it('compare resolves true on equal data and false on a mismatch', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const data = pattern(1024, 5);
    await ns.write(40, data);
    expect(await ns.compare(40, data)).toBe(true);
    const other = Buffer.from(data);
    other[700] = (other[700]! + 1) & 0xff;
    expect(await ns.compare(40, other)).toBe(false);
  });

  it('passes admin and I/O commands through', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    // Identify Controller (CNS 01h) by hand.
    const sqe = Buffer.alloc(64);
    sqe[0] = 0x06;
    sqe.writeUInt32LE(1, 40);
    const id = Buffer.alloc(4096);
    await c.adminPassthrough(sqe, id);
    expect(id.readUInt16LE(78)).toBe(c.cntlid);
    // Write then Read by hand.
    const data = pattern(512, 9);
    const w = Buffer.alloc(64);
    w[0] = 0x01;
    w.writeUInt32LE(ns.nsid, 4);
    w.writeUInt32LE(77, 40);
    await c.ioPassthrough(w, data);
    const r = Buffer.from(w);
    r[0] = 0x02;
    const back = Buffer.alloc(512);
    await c.ioPassthrough(r, back);
    expect(back.equals(data)).toBe(true);
  });
});

describe('typed errors', () => {
  it('an LBA beyond the namespace fails with LbaOutOfRange and names the command', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const err = await ns.read(ns.blockCount, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeCommandError);
    const e = err as NvmeCommandError;
    expect(e.sct).toBe(0);
    expect(e.sc).toBe(0x80);
    expect(e.statusName).toBe('LbaOutOfRange');
    expect(e.command.opcodeName).toBe('Read');
    expect(e.command.nsid).toBe(1);
    expect(e.command.qid).toBeGreaterThan(0);
    expect(e.message).toMatch(/Read .*nsid 1.*LbaOutOfRange/);
    // It is @nvmu/nvme-spec's status error, with its packed status and code.
    expect(e).toBeInstanceOf(NvmeStatusError);
    expect(e.name).toBe('NvmeCommandError');
    expect(e.code).toBe('ERR_NVME_STATUS');
    expect(e.status).toBe(makeStatus(0, 0x80, e.dnr, e.more, e.crd));
  });

  it('an unknown nsid fails with InvalidNamespaceOrFormat; an unknown admin opcode with InvalidOpcode', async () => {
    const c = await f.open();
    const w = Buffer.alloc(64);
    w[0] = 0x02;
    w.writeUInt32LE(99, 4);
    const e1 = (await c.ioPassthrough(w, Buffer.alloc(512)).catch((e: unknown) => e)) as NvmeCommandError;
    expect(e1).toBeInstanceOf(NvmeCommandError);
    expect(e1.statusName).toBe('InvalidNamespaceOrFormat');
    expect(e1.command.nsid).toBe(99);
    const a = Buffer.alloc(64);
    a[0] = 0xc4; // vendor specific, not implemented
    const e2 = (await c.adminPassthrough(a).catch((e: unknown) => e)) as NvmeCommandError;
    expect(e2).toBeInstanceOf(NvmeCommandError);
    expect(e2.statusName).toBe('InvalidOpcode');
    expect(e2.command.qid).toBe(0);
  });

  it('a media error injected in the block device reaches the caller with its status', async () => {
    const c = await f.open({}, { errors: true });
    const ns = c.namespaces[0]!;
    f.target.errorBdev!.inject({ op: 'read', action: 'fail', count: 1 });
    const e = (await ns.read(0, 1).catch((x: unknown) => x)) as NvmeCommandError;
    expect(e).toBeInstanceOf(NvmeCommandError);
    expect(e.sct).toBe(2);
    expect(e.statusName).toBe('UnrecoveredReadError');
    await expect(ns.read(0, 1)).resolves.toBeDefined();
  });

  it('connect fails with a typed error for an unknown subsystem, and cleanly for an unknown name', async () => {
    const t = await f.start();
    const e = await connect(`trtype:loopback traddr:${t.traddr} subnqn:nqn.2026-01.io.nvmu:nobody`, { reconnect: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NvmeCommandError);
    expect((e as NvmeCommandError).command.opcodeName).toBe('Fabrics.Connect');
    await expect(connect('trtype:loopback traddr:no-such-listener subnqn:nqn.2026-01.io.nvmu:y')).rejects.toThrow(/no-such-listener/);
    await expect(connect('trtype:carrier-pigeon traddr:x')).rejects.toThrow(/no host transport registered for trtype 'carrier-pigeon'/);
    expect(t.loopback.connectionCount).toBe(0);
  });
});

describe('callback path and queues', () => {
  it('does every command kind on the callback path with caller buffers', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const qp = await c.allocIoQPair({ queueSize: 16 });
    const data = pattern(4 * 512, 21);
    expect(await cb<number>((d) => { qp.submitWrite(ns, 200, 4, data, d, 1, true); })).toBe(1);
    expect(await cb<string>((d) => { qp.submitFlush(ns, d, 'f'); })).toBe('f');
    const back = Buffer.alloc(8 * 512);
    await cb((d) => { qp.submitRead(ns, 200, 4, back, d, 2, 512); }); // into the middle of a bigger buffer
    expect(back.subarray(512, 512 + 4 * 512).equals(data)).toBe(true);
    await cb((d) => { qp.submitCompare(ns, 200, 4, data, d, 3); });
    await cb((d) => { qp.submitWriteZeroes(ns, 201, 2, d, 4); });
    const mism = await cb((d) => { qp.submitCompare(ns, 200, 4, data, d, 5); }).catch((e: unknown) => e);
    expect((mism as NvmeCommandError).statusName).toBe('CompareFailure');
    const sqe = Buffer.alloc(64);
    sqe[0] = 0x02;
    sqe.writeUInt32LE(ns.nsid, 4);
    sqe.writeUInt32LE(200, 40);
    const one = Buffer.alloc(512);
    await cb((d) => { qp.submitRaw(sqe, one, 0, 512, d, 6); });
    expect(one.equals(data.subarray(0, 512))).toBe(true);
    expect(qp.outstanding).toBe(0);
    expect(qp.submittedCount).toBe(8);
    expect(qp.completedCount).toBe(8);
    expect(qp.errorCount).toBe(1);
    await c.freeIoQPair(qp);
    expect(qp.state).toBe('closed');
    expect(() => { qp.submitFlush(ns, () => undefined, 0); }).toThrow(NvmeCommandAbortedError);
  });

  it('never calls back from inside submit, so resubmitting from a callback does not recurse', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const qp = await c.allocIoQPair({ queueSize: 4 });
    const buf = Buffer.alloc(512);
    let depth = 0;
    let maxDepth = 0;
    let left = 200;
    await new Promise<void>((resolve, reject) => {
      const onDone = (err: NvmeError | undefined): void => {
        if (err !== undefined) {
          reject(err);
          return;
        }
        if (--left === 0) {
          resolve();
          return;
        }
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        qp.submitRead(ns, left % 100, 1, buf, onDone, 0);
        depth--;
      };
      depth++;
      qp.submitRead(ns, 0, 1, buf, onDone, 0);
      depth--;
    });
    expect(maxDepth).toBe(1);
  });

  it('keeps a full queue busy, refuses one more, and keeps data intact', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const qp = await c.allocIoQPair({ queueSize: 128 });
    expect(qp.queueSize).toBe(128);
    expect(qp.maxOutstanding).toBe(127);
    const bufs = Array.from({ length: qp.maxOutstanding }, (_, i) => pattern(512, 1000 + i));
    let done = 0;
    let failed: unknown;
    const all = new Promise<void>((resolve) => {
      const onDone = (err: NvmeError | undefined): void => {
        if (err !== undefined) failed = err;
        if (++done === qp.maxOutstanding) resolve();
      };
      for (let i = 0; i < qp.maxOutstanding; i++) qp.submitWrite(ns, i, 1, bufs[i]!, onDone, i);
    });
    expect(qp.outstanding).toBe(127);
    expect(() => { qp.submitRead(ns, 0, 1, Buffer.alloc(512), () => undefined, 0); }).toThrow(NvmeQueueFullError);
    await all;
    expect(failed).toBeUndefined();
    const back = Buffer.from(await ns.read(0, qp.maxOutstanding, undefined, { qpair: qp }));
    for (let i = 0; i < qp.maxOutstanding; i++) expect(back.subarray(i * 512, i * 512 + 512).equals(bufs[i]!)).toBe(true);
  });

  it('runs several qpairs at once, each with its own qid', async () => {
    const c = await f.open({ ioQueues: 4 });
    const ns = c.namespaces[0]!;
    const qps: QPair[] = [];
    for (let i = 0; i < 3; i++) qps.push(await c.allocIoQPair({ queueSize: 32 }));
    const qids = new Set([...c.ioQPairList].map((q) => q.qid));
    expect(qids.size).toBe(4); // the default qpair and three more
    await Promise.all(
      qps.flatMap((qp, q) =>
        Array.from({ length: 24 }, async (_, i) => {
          const lba = q * 1000 + i * 4;
          const data = pattern(2048, lba + 1);
          await ns.write(lba, data, { qpair: qp });
          expect(Buffer.from(await ns.read(lba, 4, undefined, { qpair: qp })).equals(data)).toBe(true);
        }),
      ),
    );
    // Queue ids are limited by what Set Features Number of Queues granted.
    await expect(c.allocIoQPair()).rejects.toThrow(/I\/O queues are in use/);
    await c.freeIoQPair(qps[0]!);
    const again = await c.allocIoQPair();
    expect(again.qid).toBe(qps[0]!.qid);
  });

  it('promise calls beyond the queue size wait for slots instead of failing', async () => {
    const c = await f.open({ ioQueueSize: 4 });
    const ns = c.namespaces[0]!;
    const writes = Array.from({ length: 40 }, (_, i) => ns.write(i, pattern(512, i + 500)));
    await Promise.all(writes);
    const back = Buffer.from(await ns.read(0, 40));
    for (let i = 0; i < 40; i++) expect(back.subarray(i * 512, i * 512 + 512).equals(pattern(512, i + 500))).toBe(true);
  });
});
