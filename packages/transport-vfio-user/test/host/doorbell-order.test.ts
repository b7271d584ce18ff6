/**
 * The order of the host qpair's doorbells when a completion handler resubmits at once (nvmu-perf,
 * the client's callback path): the CQ head doorbell must reach the controller before the SQ tail
 * doorbell that carries the new commands. A controller that polls (SPDK's vfio-user target) may
 * run a new command the moment its SQ tail doorbell lands; if the CQ head still counts the
 * entries the host just took, a queue with as many commands outstanding as the CQ holds looks
 * full to it (SPDK logs "cqid:1 full" and the completion is lost: found with nvmu-perf -q 128
 * over completions:poll against SPDK v24.01's nvmf_tgt).
 *
 * The fake controller here acts on every doorbell write at once, as a polling controller on
 * another core can: an SQ tail write makes it execute the new commands and post their CQEs,
 * and posting into a full CQ is recorded as an overflow.
 */
import { expect, it } from 'vitest';
import type { HostQPairHandler } from '@nvmu/client';
import type { VfioUserHostQPair } from '../../src/host/qpair.js';
import { plainHostQPair } from './helpers.js';

const QSIZE = 8;

function setup(shadow: boolean) {
  const mem: { sq: Uint8Array; cq32: Uint32Array } = { sq: new Uint8Array(0), cq32: new Uint32Array(0) }; // set once the qpair exists
  const ctrl = { sqHead: 0, cqTail: 0, cqHead: 0, phase: 1, overflows: 0, posted: 0, rings: [] as string[] };
  const cqFull = () => (ctrl.cqTail + 1) % QSIZE === ctrl.cqHead;
  const execute = (sqTail: number) => {
    while (ctrl.sqHead !== sqTail) {
      const cid = (mem.sq[ctrl.sqHead * 64 + 2] ?? 0) | ((mem.sq[ctrl.sqHead * 64 + 3] ?? 0) << 8);
      ctrl.sqHead = (ctrl.sqHead + 1) % QSIZE;
      if (cqFull()) {
        ctrl.overflows++; // SPDK: post_completion "cqid:1 full", the CQE is dropped
        continue;
      }
      const at = ctrl.cqTail * 4;
      mem.cq32[at + 2] = ctrl.sqHead;
      mem.cq32[at + 3] = (cid | (ctrl.phase << 16)) >>> 0;
      ctrl.cqTail = (ctrl.cqTail + 1) % QSIZE;
      if (ctrl.cqTail === 0) ctrl.phase ^= 1;
      ctrl.posted++;
    }
  };
  const sqes = Array.from({ length: QSIZE }, (_, cid) => {
    const s = new Uint8Array(64);
    s[0] = 0x02;
    s[2] = cid;
    return s;
  });
  const buf = new Uint8Array(4096);
  const holder: { qp?: VfioUserHostQPair } = {};
  let resubmit = 0;
  const handler: HostQPairHandler = {
    completion(cqe) {
      // Resubmit the same CID at once, as a load generator's callback does.
      const cid = (cqe[12] ?? 0) | ((cqe[13] ?? 0) << 8);
      if (resubmit > 0) {
        resubmit--;
        holder.qp!.submit(sqes[cid]!, buf, 0, 4096, 'c2h');
      }
    },
    disconnected() {
      throw new Error('disconnected');
    },
  };
  const shadowPages = shadow ? { shadow: new Uint32Array(64), eventIdx: new Uint32Array(64) } : undefined;
  const { qp, sq, cq } = plainHostQPair({
    queueSize: QSIZE,
    maxTransferSize: 4096,
    handler,
    doorbells: {
      ring(index, value) {
        // With shadow doorbells the controller keeps the event index at the last value, so
        // every change also reaches the real doorbell (the strictest case for the order).
        if (shadowPages !== undefined) shadowPages.eventIdx[index] = value;
        ctrl.rings.push(index % 2 === 0 ? `sq=${value}` : `cq=${value}`);
        if (index % 2 === 1) ctrl.cqHead = value;
        else execute(value);
      },
    },
    shadow: shadowPages,
  });
  mem.sq = sq;
  mem.cq32 = new Uint32Array(cq.buffer, cq.byteOffset, cq.byteLength / 4);
  holder.qp = qp;
  return {
    qp,
    ctrl,
    sqes,
    buf,
    setResubmit: (n: number) => {
      resubmit = n;
    },
  };
}

for (const shadow of [false, true]) {
  it(`a handler's resubmissions reach the controller after the CQ head (${shadow ? 'shadow doorbells' : 'BAR0 doorbells'})`, async () => {
    const { qp, ctrl, sqes, buf, setResubmit } = setup(shadow);
    // QSIZE - 1 commands outstanding: a full queue, as nvmu-perf -q keeps it.
    for (let cid = 0; cid < QSIZE - 1; cid++) qp.submit(sqes[cid]!, buf, 0, 4096, 'c2h');
    expect(ctrl.posted).toBe(QSIZE - 1);
    for (let round = 0; round < 20; round++) {
      setResubmit(QSIZE - 1);
      ctrl.rings.length = 0;
      expect(qp.processCompletions()).toBe(QSIZE - 1);
      // One CQ head write, then one SQ tail write for the whole batch.
      expect(ctrl.rings.map((r) => r.slice(0, 2))).toEqual(['cq', 'sq']);
    }
    expect(ctrl.overflows).toBe(0);
    expect(ctrl.posted).toBe(21 * (QSIZE - 1));
    expect(qp.stats.completed).toBe(20 * (QSIZE - 1));
    await qp.close();
  });
}
