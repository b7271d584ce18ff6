/**
 * The client's PCIe-style bring-up (NVMe Base 2.0 §3.5.1) through a test 'pcie' transport over
 * the loopback transport and the nvmf core (see pcie-shim.ts): registers instead of Connect,
 * AQA/ASQ/ACQ before CC.EN, Create I/O CQ/SQ per qpair, Delete on free, shutdown by register.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Controller, ControllerOptions } from '@nvmu/client';
import { pattern } from '@nvmu/test-kit';
import { LOOPBACK_NQN, loopbackClientFixture } from '@nvmu/test-kit/loopback';
import { PCIE_SHIM_MAX_ADMIN_QUEUE, registerPcieShim, type PcieShimLog } from '@nvmu/test-kit/pcie-shim';

const f = loopbackClientFixture({ adminQueueSize: PCIE_SHIM_MAX_ADMIN_QUEUE, ioQueueSize: 64 });
afterEach(f.cleanup);

let n = 0;
/** A controller through a fresh PCIe shim (its own trtype and log) over the test's target. */
async function open(opts: ControllerOptions = {}): Promise<{ c: Controller; log: PcieShimLog }> {
  const log: PcieShimLog = { events: [], allocated: [] };
  const trtype = `pcie-shim-${n++}`;
  registerPcieShim(trtype, log);
  return { c: await f.openAs(trtype, opts), log };
}

describe('pcie bring-up', () => {
  it('programs AQA/ASQ/ACQ before CC.EN=1, creates the I/O queue with admin commands, and does I/O', async () => {
    const { c, log } = await open();
    expect(c.state).toBe('ready');
    const [asqMem, acqMem] = log.allocated;
    expect(asqMem).toMatchObject({ bytes: 4096, align: 4096 }); // 16 × 64 bytes, rounded to a page
    expect(acqMem).toMatchObject({ bytes: 4096, align: 4096 });
    const iq = log.allocated.slice(2, 4);
    expect(log.events.slice(0, 4)).toEqual([
      'AQA=0xf000f', // 16 entries each, 0's based
      `ASQ=0x${asqMem!.iova.toString(16)}`,
      `ACQ=0x${acqMem!.iova.toString(16)}`,
      'CC=0x460001', // IOCQES 4, IOSQES 6, MPS 0, CSS NVM, EN
    ]);
    // The default I/O qpair: CQ first, then the SQ bound to it, in the memory given for them.
    expect(log.events.slice(4)).toEqual([
      `create cq 1 size 64 prp1 0x${iq[1]!.iova.toString(16)} cdw11 0x10003`,
      `create sq 1 size 64 prp1 0x${iq[0]!.iova.toString(16)} cqid 1`,
    ]);
    // Identify came over the admin queue; the cntlid is Identify's (no Connect on pcie).
    const id = await c.identifyController();
    expect(id.subnqn).toBe(LOOPBACK_NQN);
    expect(c.cntlid).toBe(id.cntlid);
    const ns = c.namespaces[0]!;
    const data = pattern(ns.blockSize * 16, 9);
    await ns.write(32, data, { fua: true });
    expect(Buffer.from(await ns.read(32, 16)).equals(data)).toBe(true);
  });

  it('allocates and frees more qpairs with Create/Delete I/O SQ and CQ, and gives the memory back', async () => {
    const { c, log } = await open();
    const qp = await c.allocIoQPair({ queueSize: 8 });
    expect(qp.qid).toBe(2);
    expect(log.events.slice(-2)).toEqual([expect.stringMatching(/^create cq 2 size 8 /) as unknown, expect.stringMatching(/^create sq 2 size 8 .* cqid 2$/) as unknown]);
    const ns = c.namespaces[0]!;
    const buf = pattern(ns.blockSize, 3);
    await ns.write(5, buf, { qpair: qp });
    expect(Buffer.from(await ns.read(5, 1, undefined, { qpair: qp })).equals(buf)).toBe(true);
    const before = log.allocated.filter((a) => a.freed).length;
    await c.freeIoQPair(qp);
    expect(log.events.slice(-2)).toEqual(['delete sq 2', 'delete cq 2']);
    expect(log.allocated.filter((a) => a.freed).length).toBe(before + 2);
    await c.close();
    // Shutdown by register: CC.SHN = 01b after the I/O queues were deleted.
    expect(log.events.slice(-3)).toEqual(['delete sq 1', 'delete cq 1', 'CC=0x464001']);
    expect(log.allocated.every((a) => a.freed)).toBe(true);
    expect(f.target.loopback.connectionCount).toBe(0);
  });

  it('resets and comes back: the controller is disabled and enabled again, the qpair re-created', async () => {
    const { c, log } = await open();
    const qp = c.ioQPairList[0]!;
    const mark = log.events.length;
    await c.reset();
    expect(c.state).toBe('ready');
    const again = log.events.slice(mark);
    expect(again).toContain('CC=0x460001');
    expect(again.filter((e) => e.startsWith('create sq 1'))).toHaveLength(1);
    expect(qp.state).toBe('connected');
    const ns = c.namespaces[0]!;
    await ns.write(0, pattern(ns.blockSize, 1));
    expect(Buffer.from(await ns.read(0, 1)).equals(pattern(ns.blockSize, 1))).toBe(true);
  });
});
