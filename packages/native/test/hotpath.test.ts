/**
 * The hot path allocates nothing but its return value: sendmsg + recvmsg of a message leave the
 * V8 young generation where it was, and eventfdRead allocates only the BigInt it returns. Same
 * measure as packages/nvmf/test/hotpath.test.ts: the smallest growth of the new space over
 * several batches (a batch with a scavenge in it shows as negative and is dropped), less the
 * cost of reading the statistics; a control that allocates one small array per call shows the
 * measure sees allocation at all.
 */
import { describe, expect, it } from 'vitest';
import { closeFd, eventfdCreate, eventfdRead, eventfdWrite, RECV_EMPTY, recvInto, recvmsg, sendmsg, socketpair } from '../src/index.js';
import { allocatedBy } from '../../../scripts/allocation.js';
import { checkNoFdLeak } from './helpers.js';

/** Calls per batch: one 16-byte object per call would show as 160 KB. */
const BATCH = 10_000;

/** Bytes `call` allocates per call, young generation. */
function bytesPerCall(call: () => void): number {
  const batch = (): void => {
    for (let i = 0; i < BATCH; i++) call();
  };
  batch(); // warm up (inline caches, code)
  return allocatedBy(batch) / BATCH;
}

describe('hot path allocation', () => {
  checkNoFdLeak();

  it('the measure sees a small allocation per call', () => {
    let keep: number[] = [];
    expect(bytesPerCall(() => (keep = [1, 2]))).toBeGreaterThanOrEqual(16);
    expect(keep).toHaveLength(2);
  });

  it('sendmsg + recvmsg allocate nothing', () => {
    const [a, b] = socketpair();
    const header = new Uint8Array(16).fill(1);
    const payload = new Uint8Array(48).fill(2);
    const chunks = [header, payload];
    const buf = new Uint8Array(4096);
    const fdsOut = new Int32Array(8);
    try {
      const perCall = bytesPerCall(() => {
        if (sendmsg(a, chunks) !== 64) throw new Error('short send');
        if (recvmsg(b, buf, 0, buf.length, fdsOut) !== 64) throw new Error('short receive');
      });
      expect(perCall).toBeLessThan(1);
    } finally {
      closeFd(a);
      closeFd(b);
    }
  });

  it('recvInto allocates nothing, with data and when empty (the busy-poll loop)', () => {
    const [a, b] = socketpair();
    const chunks = [new Uint8Array(64).fill(3)];
    const buf = new Uint8Array(4096);
    try {
      const perCall = bytesPerCall(() => {
        if (sendmsg(a, chunks) !== 64) throw new Error('short send');
        if (recvInto(b, buf, 0, buf.length) !== 64) throw new Error('short receive');
        if (recvInto(b, buf, 0, buf.length) !== RECV_EMPTY) throw new Error('not empty');
      });
      expect(perCall).toBeLessThan(1);
    } finally {
      closeFd(a);
      closeFd(b);
    }
  });

  it('eventfdWrite allocates nothing; eventfdRead only its BigInt', () => {
    const fd = eventfdCreate();
    try {
      expect(bytesPerCall(() => {
        eventfdWrite(fd, 1n);
      })).toBeLessThan(1);
      eventfdRead(fd);
      const perCall = bytesPerCall(() => {
        eventfdWrite(fd, 2n);
        eventfdRead(fd);
      });
      expect(perCall).toBeLessThanOrEqual(32);
    } finally {
      closeFd(fd);
    }
  });
});
