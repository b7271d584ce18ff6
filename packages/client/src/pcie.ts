/**
 * PCIe bring-up and queues from the host's side (NVMe Base 2.0 §3.5.1 steps 3-4 and 8,
 * §5.4-5.7; SPDK's lib/nvme/nvme_pcie_common.c): registers through the transport's BAR0 hooks,
 * queue memory from the transport, the admin queue given by AQA/ASQ/ACQ, I/O queues made with
 * Create I/O CQ + SQ and removed with Delete I/O SQ + CQ. Fabrics bring-up never comes here.
 */
import { AdminOpcode, CreateIoCqCommandView, CreateIoSqCommandView, DeleteIoQueueCommandView, Register, encodeAqa, memoryPageSize } from '@nvmu/nvme-spec';
import { NvmeTransportCapabilityError } from './errors.js';
import type { QPair } from './qpair.js';
import type { RegisterAccess } from './registers.js';
import type { HostDmaMemory, HostTransport } from './transport.js';

/** A pcie transport with the hooks its kind requires. */
export type PcieHostTransport = HostTransport &
  Required<Pick<HostTransport, 'readRegister32' | 'readRegister64' | 'writeRegister32' | 'writeRegister64' | 'allocDmaMemory'>>;

/** Checks that a pcie transport offers register access and queue memory. */
export function asPcieTransport(transport: HostTransport, trtype: string): PcieHostTransport {
  const t = transport;
  if (t.readRegister32 === undefined || t.readRegister64 === undefined || t.writeRegister32 === undefined || t.writeRegister64 === undefined || t.allocDmaMemory === undefined) {
    throw new NvmeTransportCapabilityError(trtype, 'register access and allocDmaMemory');
  }
  return t as PcieHostTransport;
}

/** Controller registers as BAR0 reads and writes. */
export function pcieRegisters(t: PcieHostTransport): RegisterAccess {
  return {
    get: async (offset, size) => (size === 8 ? t.readRegister64(offset) : BigInt((await t.readRegister32(offset)) >>> 0)),
    set: async (offset, value, size) => {
      if (size === 8) await t.writeRegister64(offset, value);
      else await t.writeRegister32(offset, Number(value & 0xffffffffn));
    },
  };
}

/** The submission and completion queue memory of one pcie queue pair. */
export interface QueueMemory {
  readonly sq: HostDmaMemory;
  readonly cq: HostDmaMemory;
}

/** SQE and CQE sizes the host enables (CC.IOSQES 6, CC.IOCQES 4). */
const SQE_BYTES = 64;
const CQE_BYTES = 16;

/** The queues of one pcie association: their memory by qid (0 = admin), freed with them. */
export class PcieQueues {
  private readonly memory = new Map<number, QueueMemory>();
  private readonly transport: PcieHostTransport;
  private readonly pageSize: number;

  constructor(transport: PcieHostTransport, mpsmin: number) {
    this.transport = transport;
    this.pageSize = memoryPageSize(mpsmin);
  }

  /**
   * The admin queue (NVMe Base 2.0 §3.5.1 steps 3-4): memory, then AQA (sizes, 0's based), ASQ
   * and ACQ, all while the controller is disabled.
   */
  async setUpAdminQueue(regs: RegisterAccess, entries: number): Promise<QueueMemory> {
    const mem = await this.alloc(0, entries);
    await regs.set(Register.AQA, BigInt(encodeAqa({ asqs: entries - 1, acqs: entries - 1 })), 4);
    await regs.set(Register.ASQ, mem.sq.iova, 8);
    await regs.set(Register.ACQ, mem.cq.iova, 8);
    return mem;
  }

  /** Once the controller is ready: the transport starts using the admin doorbells. */
  async connectAdminQueue(admin: QPair, mem: QueueMemory): Promise<void> {
    admin.attach(await this.transport.connectQPair({ qid: 0, queueSize: admin.queueSize, maxInCapsuleDataSize: 0, handler: admin, queueMemory: mem }));
    admin.markConnected();
  }

  /**
   * An I/O queue pair (NVMe Base 2.0 §3.5.1 step 8, §5.4-5.5): queue memory, Create I/O
   * Completion Queue, Create I/O Submission Queue bound to it (same qid, physically contiguous),
   * then the transport's doorbells.
   */
  async createIoQPair(admin: QPair, qp: QPair): Promise<void> {
    const mem = await this.alloc(qp.qid, qp.queueSize);
    try {
      await admin.execute((sqe) => {
        const c = new CreateIoCqCommandView(sqe.buf, sqe.offset).init(0);
        c.prp1Big = mem.cq.iova;
        c.qid = qp.qid;
        c.qsize = qp.queueSize - 1;
        c.pc = true;
        c.ien = this.transport.ioInterrupts?.(qp.qid) ?? true;
        c.iv = c.ien ? qp.qid : 0;
      });
      await admin.execute((sqe) => {
        const c = new CreateIoSqCommandView(sqe.buf, sqe.offset).init(0);
        c.prp1Big = mem.sq.iova;
        c.qid = qp.qid;
        c.qsize = qp.queueSize - 1;
        c.pc = true;
        c.cqid = qp.qid;
      });
      qp.attach(await this.transport.connectQPair({ qid: qp.qid, queueSize: qp.queueSize, maxInCapsuleDataSize: 0, handler: qp, queueMemory: mem }));
      qp.markConnected();
    } catch (e) {
      this.free(qp.qid);
      throw e;
    }
  }

  /** Delete I/O Submission Queue then Delete I/O Completion Queue (§5.6-5.7), best effort. */
  async deleteIoQPair(admin: QPair, qid: number): Promise<void> {
    for (const opcode of [AdminOpcode.DeleteIoSq, AdminOpcode.DeleteIoCq] as const) {
      try {
        await admin.execute((sqe) => {
          new DeleteIoQueueCommandView(sqe.buf, sqe.offset).init(0, opcode, qid);
        });
      } catch {
        // The queue goes away with the controller's next reset either way.
      }
    }
  }

  /** SQ (64-byte entries) and CQ (16-byte entries) memory, page aligned (CAP.MPSMIN). */
  private async alloc(qid: number, entries: number): Promise<QueueMemory> {
    this.free(qid);
    const page = this.pageSize;
    const round = (n: number): number => Math.ceil(n / page) * page;
    const sq = await this.transport.allocDmaMemory(round(entries * SQE_BYTES), page);
    let cq: HostDmaMemory;
    try {
      cq = await this.transport.allocDmaMemory(round(entries * CQE_BYTES), page);
    } catch (e) {
      sq.free();
      throw e;
    }
    const mem = { sq, cq };
    this.memory.set(qid, mem);
    return mem;
  }

  /** Gives back the memory of queue `qid`, if it has any. */
  free(qid: number): void {
    const mem = this.memory.get(qid);
    if (mem === undefined) return;
    this.memory.delete(qid);
    mem.sq.free();
    mem.cq.free();
  }

  /** Gives back every queue's memory (teardown). */
  freeAll(): void {
    for (const qid of [...this.memory.keys()]) this.free(qid);
  }
}
