/**
 * Hot path: once both ends are warm, I/O allocates no Buffers on either side of the transport
 * (DESIGN.md "no allocation per I/O"): request buffers, PDU header slots and views are made at
 * connection time, large transfers borrow from the shared pool. Node's own stream internals are
 * not Buffers and are not counted here; the bench's --trace-gc figure covers them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { pattern, sqeRw } from './helpers/raw.js';
import { cqeStatus, hostConnect, startMiniTarget, type HostConn, type MiniTarget } from './helpers/setup.js';

let target: MiniTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

/** One round of I/O of every data path: in-capsule write, R2T write (several R2Ts), short and split reads. */
interface Bufs {
  w: Buffer[];
  r: Buffer[];
  /** SQEs made once (the host copies each into its capsule), so the test itself allocates none. */
  sqeW: Buffer[];
  sqeR: Buffer[];
}

async function round(h: HostConn, bufs: Bufs): Promise<void> {
  const all: Promise<Buffer>[] = [];
  bufs.w.forEach((w, i) => {
    const r = bufs.r[i];
    const sw = bufs.sqeW[i];
    const sr = bufs.sqeR[i];
    if (r === undefined || sw === undefined || sr === undefined) throw new Error('unreachable');
    all.push(h.cmd(sw, w, 'h2c'));
    all.push(h.cmd(sr, r, 'c2h'));
  });
  for (const cqe of await Promise.all(all)) expect(cqeStatus(cqe)).toBe(0);
}

describe('hot path', () => {
  it.each([
    ['no digests', false, false, 0],
    ['header and data digests', true, true, 0],
    // Spins read into preallocated buffers and feed the same receiver.
    ['busy-poll on both ends', false, false, 20],
  ])('allocates no Buffer per I/O once warm (%s)', async (_name, hdgst, ddgst, busyPollUs) => {
    target = await startMiniTarget('127.0.0.1', { maxH2CData: 16384, r2tSize: 32768, c2hDataSize: 16384, busyPollUs });
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1, queueSize: 64, host: { hdgst, ddgst, maxr2t: 3, busyPollUs } });
    const sizes = [512, 4096, 8192, 16384, 65536, 131072] as const;
    const bufs: Bufs = {
      w: sizes.map((s, i) => pattern(s, i)),
      r: sizes.map((s) => Buffer.alloc(s)),
      sqeW: sizes.map((s, i) => sqeRw(0x01, i, i * 256, s / 512)),
      sqeR: sizes.map((s, i) => sqeRw(0x02, 32 + i, i * 256, s / 512)),
    };
    // Warm up: every pooled object reaches the sizes it will keep.
    for (let i = 0; i < 3; i++) await round(h, bufs);
    const spies = [
      vi.spyOn(Buffer, 'alloc'),
      vi.spyOn(Buffer, 'allocUnsafe'),
      vi.spyOn(Buffer, 'allocUnsafeSlow'),
      vi.spyOn(Buffer, 'concat'),
    ];
    // The test's own Buffer.from copies of CQEs (helpers/setup.ts Collector) are not the transport's.
    try {
      for (let i = 0; i < 20; i++) await round(h, bufs);
      expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0]);
    } finally {
      for (const s of spies) s.mockRestore();
    }
    sizes.forEach((_s, i) => {
      expect(bufs.r[i]?.equals(bufs.w[i] ?? Buffer.alloc(0))).toBe(true);
    });
    if (busyPollUs > 0) expect(target.transport.busyPollStats().spins).toBeGreaterThan(0);
    await h.transport.close();
  });

  it('sends the PDUs of one event-loop turn in one writev', async () => {
    target = await startMiniTarget('127.0.0.1');
    const h = await hostConnect(target.port, '127.0.0.1', { qid: 1, queueSize: 64 });
    const n = 32;
    const sqes = Array.from({ length: n }, (_v, i) => sqeRw(0x02, i, i * 8, 8));
    const outs = Array.from({ length: n }, () => Buffer.alloc(4096));
    await Promise.all(sqes.map((sqe, i) => h.cmd(sqe, outs[i], 'c2h'))); // warm
    const { Socket } = await import('node:net');
    type Sock = InstanceType<typeof Socket>;
    const writev = vi.spyOn(Socket.prototype as unknown as { _writev: (...a: unknown[]) => void }, '_writev');
    const write = vi.spyOn(Socket.prototype as unknown as { _write: (...a: unknown[]) => void }, '_write');
    const reads0 = target.transport.stats().socketReads;
    try {
      const cqes = await Promise.all(sqes.map((sqe, i) => h.cmd(sqe, outs[i], 'c2h')));
      for (const cqe of cqes) expect(cqeStatus(cqe)).toBe(0);
      // Count per side, by socket: how the bytes arrive is up to the kernel and the scheduler,
      // what each side does with a turn is not.
      const onTarget = (s: unknown): boolean => (s as Sock).localPort === target!.port;
      const contexts = [...writev.mock.contexts, ...write.mock.contexts];
      const hostWrites = contexts.filter((s) => !onTarget(s)).length;
      const targetWrites = contexts.filter(onTarget).length;
      const targetReads = target.transport.stats().socketReads - reads0;
      // The host submitted 32 capsules in one turn: one system call.
      expect(hostWrites).toBe(1);
      // The target answers each turn of input with at most one system call carrying all its
      // PDUs (C2HData + CapsuleResp per command): never more calls than turns or commands.
      expect(writev.mock.calls.length).toBeGreaterThan(0);
      expect(targetReads).toBeGreaterThan(0);
      expect(targetWrites).toBeLessThanOrEqual(Math.min(targetReads, n));
    } finally {
      writev.mockRestore();
      write.mockRestore();
    }
    await h.transport.close();
  });
});
