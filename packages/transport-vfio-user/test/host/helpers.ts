/** Shared by the host transport tests: I/O at a queue depth with verification, stats access. */
import type { Controller, HostQPairHandler, Namespace, QPair } from '@nvmu/client';
import { VfioUserHostQPair, type DoorbellSink, type ShadowDoorbells } from '../../src/host/qpair.js';
import type { VfioUserHostStats, VfioUserHostTransport } from '../../src/host.js';

/** The transport behind a controller (a private field of the client, read for tests only). */
export function hostTransport(c: Controller): VfioUserHostTransport {
  const t = (c as unknown as { transport: VfioUserHostTransport | undefined }).transport;
  if (t === undefined) throw new Error('controller has no transport');
  return t;
}

export function hostStats(c: Controller): VfioUserHostStats {
  return hostTransport(c).stats();
}

/** Bytes of block `lba` written with `seed`: every byte depends on both. */
export function fillBlocks(buf: Uint8Array, lba: number, blockSize: number, seed: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] = (lba * 131 + Math.floor(i / blockSize) * 17 + i * 7 + seed) & 0xff;
}

function runAtDepth(qd: number, ios: number, issue: (i: number, done: (e: Error | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let finished = 0;
    let failed = false;
    const done = (e: Error | undefined): void => {
      if (failed) return;
      if (e !== undefined) {
        failed = true;
        reject(e);
        return;
      }
      finished++;
      if (finished === ios) resolve();
      else if (next < ios) issue(next++, done);
    };
    for (; next < Math.min(qd, ios); ) issue(next++, done);
  });
}

/**
 * Writes `ios` commands of `nlb` blocks at queue depth `qd` from `lbaBase`, reads them back at
 * the same depth, and compares every byte.
 */
export async function rwVerify(ns: Namespace, qp: QPair, o: { qd: number; ios: number; lbaBase: number; nlb: number; seed: number }): Promise<void> {
  const bytes = o.nlb * ns.blockSize;
  const bufs = Array.from({ length: o.qd }, () => new Uint8Array(bytes));
  const slot = (i: number): Uint8Array => bufs[i % o.qd]!;
  await runAtDepth(o.qd, o.ios, (i, done) => {
    const b = slot(i);
    const lba = o.lbaBase + i * o.nlb;
    fillBlocks(b, lba, ns.blockSize, o.seed);
    qp.submitWrite(ns, lba, o.nlb, b, (e) => {
      done(e);
    }, undefined);
  });
  const want = new Uint8Array(bytes);
  let bad = -1;
  await runAtDepth(o.qd, o.ios, (i, done) => {
    const b = slot(i);
    b.fill(0);
    const lba = o.lbaBase + i * o.nlb;
    qp.submitRead(ns, lba, o.nlb, b, (e) => {
      if (e === undefined && bad < 0) {
        fillBlocks(want, lba, ns.blockSize, o.seed);
        if (Buffer.compare(want, b) !== 0) bad = lba;
      }
      done(e);
    }, undefined);
  });
  if (bad >= 0) throw new Error(`data mismatch at lba ${bad} (qd ${o.qd})`);
}

/**
 * A host qpair over plain memory for tests that play the controller themselves: SQ at iova
 * 10000h, CQ at 20000h, bounce slots and PRP list pages after them. Returns the qpair and the
 * SQ / CQ bytes the fake controller reads and writes.
 */
export function plainHostQPair(opts: {
  queueSize: number;
  maxTransferSize: number;
  handler: HostQPairHandler;
  doorbells: DoorbellSink;
  shadow: ShadowDoorbells | undefined;
}): { qp: VfioUserHostQPair; sq: Uint8Array; cq: Uint8Array } {
  const region = (bytes: number, iova: number) => ({ iova, bytes: new Uint8Array(bytes) });
  const sq = region(opts.queueSize * 64, 0x10000);
  const cq = region(opts.queueSize * 16, 0x20000);
  const slot = Math.ceil(opts.maxTransferSize / 4096) * 4096;
  const qp = new VfioUserHostQPair({
    qid: 1,
    queueSize: opts.queueSize,
    sq: { buffer: sq.bytes, iova: 0x10000n, free: () => undefined },
    cq: { buffer: cq.bytes, iova: 0x20000n, free: () => undefined },
    bounce: region(opts.queueSize * slot, 0x100000),
    prpLists: region(opts.queueSize * 4096, 0x100000 + opts.queueSize * slot + 0x1000),
    maxTransferSize: opts.maxTransferSize,
    handler: opts.handler,
    doorbells: opts.doorbells,
    shadow: opts.shadow,
    kick: () => undefined,
    onClose: () => Promise.resolve(),
  });
  return { qp, sq: sq.bytes, cq: cq.bytes };
}
