/**
 * The host qpair's per-I/O path allocates nothing (DESIGN.md): submit (SQE into the SQ, PRPs,
 * the bounce copy of write data, the shadow-doorbell check, the doorbell) and the completion
 * scan (phase tag, copy back of read data, the handler call, the CQ head doorbell). Driven
 * synchronously with a fake controller that completes every SQE by writing its CQE; measured
 * as test/nvme/hotpath.test.ts does (young-generation growth, smallest of several batches),
 * with a control that allocates one small array per I/O.
 */
import { grewBy } from '../../../../scripts/allocation.js';
import { expect, it } from 'vitest';
import type { HostQPairHandler } from '@nvmu/client';
import { plainHostQPair } from './helpers.js';

const QSIZE = 128;
const ROUNDS = 150; // 150 × 127 ≈ 19 000 I/O a batch
const IO = 8192; // two pages: PRP1 + PRP2; one in four I/O is 16 KiB (a PRP list)

it('submit and completion of reads and writes allocate nothing per I/O', async () => {
  let completed = 0;
  const handler: HostQPairHandler = {
    completion() {
      completed++;
    },
    disconnected() {
      throw new Error('disconnected');
    },
  };
  let rings = 0;
  const { qp, sq: sqBytes, cq: cqBytes } = plainHostQPair({
    queueSize: QSIZE,
    maxTransferSize: 16384,
    handler,
    doorbells: {
      ring() {
        rings++;
      },
    },
    shadow: { shadow: new Uint32Array(1024), eventIdx: new Uint32Array(1024) },
  });
  const sq = { bytes: sqBytes };
  const cq = { bytes: cqBytes };
  const sqes = Array.from({ length: QSIZE }, (_, cid) => {
    const s = new Uint8Array(64);
    s[0] = cid % 2 === 0 ? 0x02 : 0x01;
    s[2] = cid & 0xff;
    s[3] = cid >> 8;
    return s;
  });
  const bufs = Array.from({ length: QSIZE }, () => new Uint8Array(16384).fill(0x5a));
  const cq32 = new Uint32Array(cq.bytes.buffer);
  let taken = 0;
  let ctrlHead = 0; // the fake controller's SQ head and CQ tail (same here)
  let phase = 1;
  const round = (extra: (() => void) | undefined): void => {
    for (let cid = 0; cid < QSIZE - 1; cid++) {
      const len = cid % 4 === 3 ? 16384 : IO;
      qp.submit(sqes[cid]!, bufs[cid], 0, len, cid % 2 === 0 ? 'c2h' : 'h2c');
      extra?.();
    }
    for (let cid = 0; cid < QSIZE - 1; cid++) {
      const sqeCid = (sq.bytes[ctrlHead * 64 + 2] ?? 0) | ((sq.bytes[ctrlHead * 64 + 3] ?? 0) << 8);
      const at = ctrlHead * 4;
      ctrlHead = ctrlHead + 1 === QSIZE ? 0 : ctrlHead + 1;
      cq32[at + 2] = ctrlHead; // SQHD
      cq32[at + 3] = (sqeCid | (phase << 16)) >>> 0;
      if (ctrlHead === 0) phase ^= 1;
    }
    taken += qp.processCompletions();
  };
  const batch = (extra?: () => void) => () => {
    for (let r = 0; r < ROUNDS; r++) round(extra);
  };
  batch()(); // warm up (JIT)
  const before = completed;
  const overhead = grewBy(() => undefined, 7);
  const perBatch = grewBy(batch(), 7) - overhead;
  expect(completed - before).toBe(7 * ROUNDS * (QSIZE - 1));
  expect(taken).toBe(completed);
  expect(rings).toBeGreaterThan(0);
  let sink: number[] = [];
  const control = grewBy(
    batch(() => {
      sink = [completed];
    }),
    3,
  ) - overhead;
  expect(sink.length).toBe(1);
  expect(control).toBeGreaterThan(ROUNDS * (QSIZE - 1) * 16);
  expect(perBatch).toBeLessThan(ROUNDS * (QSIZE - 1) * 2);
  await qp.close();
});
