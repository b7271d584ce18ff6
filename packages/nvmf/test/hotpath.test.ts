/**
 * The hot path allocates nothing (DESIGN.md): a 4 KiB Read or Write through the core, from
 * `allocRequest` to the transport's `complete` and `freeRequest`, leaves the V8 young generation
 * where it was. Malloc and null bdevs complete synchronously, so a batch of I/O runs with no
 * other JavaScript in between; the bytes the new space grew by during a batch (taking the
 * smallest of several batches, discarding any batch a scavenge ran in) are what the I/O
 * allocated. A control loop that allocates one small array per iteration shows the measure
 * sees allocation at all.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { MallocBdev, NullBdev, Target, type Bdev, type QPair, type Request } from '../src/index.js';
import { allocatedBy } from '../../../scripts/allocation.js';
import { LOOP_ADDR, TestTransport, connectCmd, propSet, CC_ENABLE } from './harness.js';

const NQN = 'nqn.2026-11.io.nvmu:hotpath';

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

/** I/Os per measured batch: a per-command allocation of even one 16-byte object shows as >= 320 KB. */
const BATCH = 20_000;

/** A qpair driven synchronously: completions free the request at once. */
interface SyncQ {
  qp: QPair<undefined>;
  completed: number;
  lastStatus: number;
}

function syncQPair(tr: TestTransport, depth: number): SyncQ {
  const q: SyncQ = { qp: undefined as unknown as QPair<undefined>, completed: 0, lastStatus: 0 };
  const core = tr.core;
  if (core === undefined) throw new Error('transport not attached');
  q.qp = core.createQPair<undefined>(
    {
      complete: (req: Request<undefined>) => {
        q.completed++;
        q.lastStatus = req.cqeBytes.readUInt16LE(14) >> 1;
        q.qp.freeRequest(req);
      },
      close: () => undefined,
    },
    { depth, listenAddress: LOOP_ADDR },
  );
  return q;
}

function run(q: SyncQ, sqe: Buffer, data?: Buffer): number {
  const req = q.qp.allocRequest();
  if (req === undefined) throw new Error('queue full');
  req.sqeBytes.set(sqe);
  if (data === undefined) req.clearData();
  else req.setData(data);
  const before = q.completed;
  q.qp.submit(req);
  if (q.completed !== before + 1) throw new Error('not completed synchronously');
  return q.lastStatus;
}

async function serve(bdev: Bdev): Promise<SyncQ> {
  const t = new Target();
  target = t;
  const tr = new TestTransport();
  await t.addTransport(tr);
  const s = t.createSubsystem({ nqn: NQN, allowAnyHost: true });
  s.addNamespace({ bdev, nsid: 1 });
  await s.addListener(LOOP_ADDR);
  s.start();
  const admin = syncQPair(tr, 32);
  const c = connectCmd({ qid: 0, subnqn: NQN });
  expect(run(admin, c.sqe, c.data)).toBe(0);
  const cntlid = admin.qp.cntlid;
  expect(run(admin, propSet(0x14, CC_ENABLE))).toBe(0);
  const io = syncQPair(tr, 64);
  const ic = connectCmd({ qid: 1, subnqn: NQN, cntlid, sqsize: 63 });
  expect(run(io, ic.sqe, ic.data)).toBe(0);
  return io;
}

function rwLoop(io: SyncQ, opcode: number, blocks: number, n: number): () => void {
  const buf = Buffer.alloc(4096, 0x5a);
  const sqe = Buffer.alloc(64);
  sqe[0] = opcode;
  sqe.writeUInt32LE(1, 4);
  sqe.writeUInt32LE(7, 48); // NLB 8 (0's based) x 512 = 4 KiB
  let lba = 0;
  let failures = 0;
  return () => {
    for (let i = 0; i < n; i++) {
      const req = io.qp.allocRequest();
      if (req === undefined) throw new Error('queue full');
      req.sqeBytes.set(sqe);
      lba = (lba + 7919) % blocks;
      req.sqeBytes.writeUInt32LE(lba * 8, 40);
      req.setData(buf);
      io.qp.submit(req);
      if (io.lastStatus !== 0) failures++;
    }
    if (failures !== 0) throw new Error(`${failures} I/Os failed`);
  };
}

describe('hot path allocation', () => {
  it('the measure sees an allocation of one small array per iteration', () => {
    const sink: unknown[] = [undefined];
    const control = (): void => {
      for (let i = 0; i < BATCH; i++) sink[0] = [i, i];
    };
    control();
    expect(allocatedBy(control) / BATCH).toBeGreaterThanOrEqual(16);
  });

  for (const [name, make] of [
    ['malloc', () => new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 8 * 1024 })],
    ['null', () => new NullBdev({ name: 'n', blockSize: 512, numBlocks: 8 * 1024 })],
  ] as const) {
    it(`4 KiB Read and Write on a ${name} bdev allocate nothing per I/O`, async () => {
      const io = await serve(make());
      const write = rwLoop(io, 0x01, 1024, BATCH);
      const read = rwLoop(io, 0x02, 1024, BATCH);
      for (let i = 0; i < 4; i++) {
        write(); // warm up: let the JIT settle
        read();
      }
      // Under a quarter of a byte per I/O over a batch (a few constant bytes of JIT or IC
      // bookkeeping at most): no object, view, closure or boxed number per command.
      expect(allocatedBy(write)).toBeLessThan(BATCH / 4);
      expect(allocatedBy(read)).toBeLessThan(BATCH / 4);
    });
  }
});
