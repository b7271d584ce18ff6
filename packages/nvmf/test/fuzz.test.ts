import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MallocBdev, Target } from '../src/index.js';
import { LOOP_ADDR, settle, TestHost, TestTransport, type TestConnection } from './harness.js';

const NQN = 'nqn.2026-11.io.nvmu:fuzz';

/**
 * Any SQE, on the admin queue or an I/O queue, with any data buffer, completes exactly once with
 * some status and never throws out of the core (a bad host must not crash the target).
 */
describe('random commands', () => {
  it('every random SQE completes exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            admin: fc.boolean(),
            // Bias the opcode towards implemented commands, keep AER (0Ch) out: it is held.
            opcode: fc.oneof(fc.constantFrom(0x00, 0x01, 0x02, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x18, 0x7f), fc.nat({ max: 255 })).filter((o) => o !== 0x0c),
            fctype: fc.constantFrom(0x00, 0x01, 0x04, 0x05, 0x08, 0x7e),
            nsid: fc.oneof(fc.constantFrom(0, 1, 2, 0xffffffff), fc.nat()),
            cdw: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
            flags: fc.nat({ max: 255 }),
            dataLen: fc.constantFrom(0, 16, 512, 1024, 4096, 8192),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (cmds) => {
          const t = new Target();
          const tr = new TestTransport();
          await t.addTransport(tr);
          const s = t.createSubsystem({ nqn: NQN, allowAnyHost: true });
          s.addNamespace({ bdev: new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 64 }), nsid: 1 });
          await s.addListener(LOOP_ADDR);
          s.start();
          const h = new TestHost(tr, NQN);
          await h.bringUp(1);
          try {
            for (const c of cmds) {
              const conn: TestConnection | undefined = c.admin ? h.admin : h.io[1];
              if (conn === undefined || conn.closed) continue;
              const sqe = Buffer.alloc(64);
              sqe[0] = c.opcode;
              sqe[1] = c.flags & 0x3f;
              sqe[4] = c.opcode === 0x7f ? c.fctype : 0;
              if (c.opcode !== 0x7f) sqe.writeUInt32LE(c.nsid >>> 0, 4);
              c.cdw.forEach((v, i) => sqe.writeUInt32LE(v >>> 0, 40 + i * 4));
              // Counted where the core hands completions to the transport, after letting any
              // late (asynchronous) second completion arrive; the qpair throws on a double
              // completion or double free, which rejects the submit or surfaces as an
              // unhandled error.
              const before = conn.completions;
              const r = await conn.submit(sqe, { data: Buffer.alloc(c.dataLen, 0x5a) });
              await settle();
              expect(conn.completions - before).toBe(1);
              expect(r.status).toBeLessThan(1 << 15);
              // An Internal Error would mean a handler threw.
              expect([r.sct, r.sc]).not.toEqual([0, 0x06]);
            }
          } finally {
            await t.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a request freed twice is an error the transport sees, not ignored', async () => {
    const t = new Target();
    const tr = new TestTransport();
    await t.addTransport(tr);
    const s = t.createSubsystem({ nqn: NQN, allowAnyHost: true });
    await s.addListener(LOOP_ADDR);
    s.start();
    const h = new TestHost(tr, NQN);
    try {
      await h.bringUp(0);
      const req = h.a.qp.allocRequest()!;
      h.a.qp.freeRequest(req);
      expect(() => {
        h.a.qp.freeRequest(req);
      }).toThrow(/double free/);
      // The pool is intact: the admin queue still serves.
      expect((await h.a.submit(Buffer.from([0x18, ...Array<number>(63).fill(0)]))).status).toBe(0);
    } finally {
      await t.close();
    }
  });
});
