/**
 * Controller bring-up and shutdown against a controller whose registers say otherwise than the
 * core's (CQEs rewritten by an interposed transport): CAP.TO bounds the wait for CSTS.RDY,
 * CSTS.CFS fails at once, the disable order follows SPDK's nvme_ctrlr.c, CSTS.SHST bounds the
 * shutdown; and Keep Alive goes out every KATO/2.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Register } from '@nvmu/nvme-spec';
import { NvmeControllerStatusError, type Controller } from '@nvmu/client';
import { loopbackClientFixture, propertyGetOffset, registerInterposer } from '@nvmu/test-kit/loopback';

const f = loopbackClientFixture();
afterEach(async () => {
  vi.useRealTimers();
  await f.cleanup();
});

const CSTS_RDY = 1 << 0;
const CSTS_CFS = 1 << 1;
const CSTS_SHST_MASK = 3 << 2;
const CC_EN = 1 << 0;
let n = 0;

/** Rewrites CQE DW0 of Property Gets of `offset` through `f`. */
function rewriteProperty(offset: number, f: (dw0: number, nth: number) => number): string {
  const name = `regs-${n++}`;
  let nth = 0;
  registerInterposer(
    name,
    () => 'pass',
    (qid, sqe, cqe) => {
      if (qid !== 0 || propertyGetOffset(sqe) !== offset) return;
      const b = Buffer.from(cqe.buffer, cqe.byteOffset, 16);
      b.writeUInt32LE(f(b.readUInt32LE(0), nth++) >>> 0, 0);
    },
  );
  return name;
}

/** CAP with TO = 1 (500 ms), so a test of the RDY timeout takes half a second. */
function shortCapTo(trtype: string, csts: (dw0: number) => number): void {
  registerInterposer(
    trtype,
    () => 'pass',
    (qid, sqe, cqe) => {
      const off = propertyGetOffset(sqe);
      if (qid !== 0 || off === undefined) return;
      const b = Buffer.from(cqe.buffer, cqe.byteOffset, 16);
      if (off === Register.CAP) b.writeUInt32LE(((b.readUInt32LE(0) & 0x00ffffff) | (1 << 24)) >>> 0, 0); // CAP.TO, bits 31:24
      if (off === Register.CSTS) b.writeUInt32LE(csts(b.readUInt32LE(0)) >>> 0, 0);
    },
  );
}

describe('waiting for CSTS.RDY', () => {
  it('gives up after CAP.TO × 500 ms with a typed error, and leaves nothing connected', async () => {
    const trtype = `never-ready-${n++}`;
    shortCapTo(trtype, (v) => v & ~CSTS_RDY);
    const err = await f.openAs(trtype).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeControllerStatusError);
    const e = err as NvmeControllerStatusError;
    expect(e.code).toBe('ERR_NVME_CONTROLLER_STATUS');
    expect(e.reason).toBe('timeout');
    expect(e.waitingFor).toBe('CSTS.RDY=1');
    expect(e.timeoutMs).toBe(500); // CAP.TO = 1
    expect(e.csts & CSTS_RDY).toBe(0);
    expect(f.target.loopback.connectionCount).toBe(0);
  });

  it('fails at once on CSTS.CFS', async () => {
    const trtype = rewriteProperty(Register.CSTS, (v) => v | CSTS_CFS);
    const err = await f.openAs(trtype).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeControllerStatusError);
    expect((err as NvmeControllerStatusError).reason).toBe('fatal');
    expect((err as NvmeControllerStatusError).message).toMatch(/CSTS\.CFS/);
    expect(f.target.loopback.connectionCount).toBe(0);
  });

  it('with CC.EN=1 and CSTS.RDY=0 waits for RDY=1 before clearing EN (SPDK order), then enables', async () => {
    const events: string[] = [];
    const trtype = `enabling-${n++}`;
    let cstsReads = 0;
    let ccReads = 0;
    registerInterposer(
      trtype,
      (qid, sqe) => {
        // Property Set (FCTYPE 00h) of CC: record EN.
        if (qid === 0 && sqe[0] === 0x7f && sqe[4] === 0x00) {
          const b = Buffer.from(sqe.buffer, sqe.byteOffset, 64);
          if (b.readUInt32LE(44) === Register.CC) events.push(`set CC.EN=${b.readUInt32LE(48) & CC_EN}`);
        }
        return 'pass';
      },
      (qid, sqe, cqe) => {
        const off = propertyGetOffset(sqe);
        if (qid !== 0 || off === undefined) return;
        const b = Buffer.from(cqe.buffer, cqe.byteOffset, 16);
        // Before the host writes CC: the controller claims to be enabling (EN=1, RDY=0, then RDY=1).
        if (off === Register.CC && ccReads++ === 0) b.writeUInt32LE((b.readUInt32LE(0) | CC_EN) >>> 0, 0);
        if (off === Register.CSTS && !events.some((e) => e.startsWith('set'))) {
          const v = cstsReads++ < 2 ? b.readUInt32LE(0) & ~CSTS_RDY : b.readUInt32LE(0) | CSTS_RDY;
          b.writeUInt32LE(v >>> 0, 0);
        }
        if (off === Register.CSTS) events.push(`get CSTS.RDY=${b.readUInt32LE(0) & CSTS_RDY}`);
      },
    );
    const c = await f.openAs(trtype);
    expect(c.state).toBe('ready');
    const firstSet = events.indexOf('set CC.EN=0');
    expect(firstSet).toBeGreaterThan(0);
    // RDY=0 was seen, then RDY=1, and only then EN cleared; then EN set once and RDY=1 waited for.
    expect(events.slice(0, firstSet)).toEqual(['get CSTS.RDY=0', 'get CSTS.RDY=0', 'get CSTS.RDY=1']);
    expect(events.filter((e) => e.startsWith('set'))).toEqual(['set CC.EN=0', 'set CC.EN=1']);
    expect(events.at(-1)).toBe('get CSTS.RDY=1');
  });
});

describe('shutdown', () => {
  it('rejects with a typed timeout when CSTS.SHST never reports complete', async () => {
    const trtype = rewriteProperty(Register.CSTS, (v) => v & ~CSTS_SHST_MASK);
    const c = await f.openAs(trtype);
    const err = await c.shutdown(200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeControllerStatusError);
    expect((err as NvmeControllerStatusError).reason).toBe('timeout');
    expect((err as NvmeControllerStatusError).waitingFor).toBe('CSTS.SHST=10b');
    expect((err as NvmeControllerStatusError).timeoutMs).toBe(200);
    // close() still ends everything, without repeating the shutdown that timed out.
    await c.close();
    expect(c.state).toBe('closed');
    expect(f.target.loopback.connectionCount).toBe(0);
  });
});

describe('keep-alive', () => {
  /**
   * A controller with KATO `kato` through a trtype that counts Keep Alives, connected with fake
   * intervals (only those: the transport's setImmediate and the bring-up's sleeps stay real).
   */
  async function keepAliveCounter(kato: number): Promise<{ c: Controller; keepAlives: () => number }> {
    await f.start(); // before the fake intervals, as a target would be
    const trtype = `ka-${n++}`;
    let keepAlives = 0;
    registerInterposer(trtype, (qid, sqe) => {
      if (qid === 0 && sqe[0] === 0x18) keepAlives++;
      return 'pass';
    });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const c = await f.openAs(trtype, { kato });
    return { c, keepAlives: () => keepAlives };
  }
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('sends Keep Alive every KATO/2 (Linux and SPDK), none before the first KATO/2', async () => {
    const { c, keepAlives } = await keepAliveCounter(10_000);
    vi.advanceTimersByTime(4_999);
    await turn();
    expect(keepAlives()).toBe(0);
    vi.advanceTimersByTime(1);
    await turn();
    expect(keepAlives()).toBe(1);
    vi.advanceTimersByTime(5_000);
    await turn();
    expect(keepAlives()).toBe(2);
    for (let i = 3; i <= 6; i++) {
      vi.advanceTimersByTime(5_000);
      await turn();
      expect(keepAlives()).toBe(i);
    }
    expect(c.state).toBe('ready');
  });

  it('sends none with KATO 0', async () => {
    const { keepAlives } = await keepAliveCounter(0);
    vi.advanceTimersByTime(60_000);
    await turn();
    expect(keepAlives()).toBe(0);
  });
});
