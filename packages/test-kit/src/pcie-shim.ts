/**
 * A test-only host transport of kind 'pcie' in front of the loopback transport and the nvmf core:
 * what a vfio-user transport does, in miniature. BAR0 register reads and writes become Property
 * Get/Set on a fabrics admin connection it opens itself (AQA/ASQ/ACQ, meaningless on fabrics,
 * stay here); Create I/O CQ/SQ and Delete I/O SQ/CQ become loopback connections with a Connect,
 * answered here; every other command goes to the core. It records what the client did, so tests
 * can check the PCIe bring-up order (NVMe Base 2.0 §3.5.1) and queue creation (§5.4-5.7).
 */
import { registerHostTransport, type HostDmaMemory, type HostQPair, type HostQPairHandler, type HostTransport } from '@nvmu/client';
import { loopbackHostTransportFactory } from '@nvmu/transport-loopback';

/** The client's admin queue must use CIDs below this; the shim's own admin commands use the rest. */
export const PCIE_SHIM_MAX_ADMIN_QUEUE = 16;
const INNER_ADMIN_QUEUE = 32;
const REG_AQA = 0x24;
const REG_ASQ = 0x28;
const REG_ACQ = 0x30;
const REG_CC = 0x14;

export interface PcieShimLog {
  /** In order: register writes ("AQA=..", "ASQ=..", "ACQ=..", "CC=.."), queue commands ("create cq 1 size 128 prp1 0x..", ...). */
  readonly events: string[];
  /** DMA memory handed out and given back. */
  readonly allocated: { iova: bigint; bytes: number; align: number; freed: boolean }[];
}

function cqeFor(cid: number, status: number): Uint8Array {
  const cqe = Buffer.alloc(16);
  cqe.writeUInt16LE(cid, 12);
  cqe.writeUInt16LE((status << 1) & 0xfffe, 14);
  return cqe;
}

/** Registers trtype `name` (kind 'pcie'); `traddr` names a loopback listener. */
export function registerPcieShim(name: string, log: PcieShimLog): void {
  registerHostTransport({
    trtype: name,
    kind: 'pcie',
    async open(trid, opts): Promise<HostTransport> {
      const inner = await loopbackHostTransportFactory.open({ ...trid, trtype: 'loopback' }, opts);
      const pending = new Map<number, (cqe: Buffer) => void>();
      let clientAdmin: HostQPairHandler | undefined;
      let nextCid = PCIE_SHIM_MAX_ADMIN_QUEUE;
      const adminHandler: HostQPairHandler = {
        completion(cqe) {
          const cid = (cqe[12] ?? 0) | ((cqe[13] ?? 0) << 8);
          const mine = pending.get(cid);
          if (mine !== undefined) {
            pending.delete(cid);
            mine(Buffer.from(cqe));
          } else clientAdmin?.completion(cqe);
        },
        disconnected(err) {
          clientAdmin?.disconnected(err);
        },
      };
      const admin = await inner.connectQPair({ qid: 0, queueSize: INNER_ADMIN_QUEUE, maxInCapsuleDataSize: 8192, handler: adminHandler });

      /** One command of the shim's own on `q`, resolving with its CQE; rejects on an error status. */
      function command(q: HostQPair, wait: Map<number, (cqe: Buffer) => void>, cid: number, sqe: Buffer, data?: Buffer): Promise<Buffer> {
        sqe.writeUInt16LE(cid, 2);
        return new Promise((resolve, reject) => {
          wait.set(cid, (cqe) => {
            const status = cqe.readUInt16LE(14) >>> 1;
            if (status !== 0) reject(new Error(`shim command ${sqe[0]}/${sqe[4]} failed: status 0x${status.toString(16)}`));
            else resolve(cqe);
          });
          q.submit(sqe, data, 0, data?.byteLength ?? 0, data === undefined ? 'none' : 'h2c');
        });
      }
      const adminCommand = (sqe: Buffer, data?: Buffer): Promise<Buffer> => {
        const cid = nextCid;
        nextCid = nextCid + 1 >= INNER_ADMIN_QUEUE ? PCIE_SHIM_MAX_ADMIN_QUEUE : nextCid + 1;
        return command(admin, pending, cid, sqe, data);
      };
      const connectData = (cntlid: number): Buffer => {
        const d = Buffer.alloc(1024);
        d.set(opts.hostid, 0);
        d.writeUInt16LE(cntlid, 16);
        d.write(trid.subnqn ?? '', 256, 'ascii');
        d.write(opts.hostnqn, 512, 'ascii');
        return d;
      };
      const connectSqe = (qid: number, queueSize: number): Buffer => {
        const sqe = Buffer.alloc(64);
        sqe[0] = 0x7f;
        sqe[4] = 0x01;
        sqe.writeUInt16LE(qid, 42);
        sqe.writeUInt16LE(queueSize - 1, 44);
        return sqe;
      };
      const cntlid = (await adminCommand(connectSqe(0, INNER_ADMIN_QUEUE), connectData(0xffff))).readUInt16LE(0);

      const property = async (fctype: 0 | 4, offset: number, size: 4 | 8, value = 0n): Promise<bigint> => {
        const sqe = Buffer.alloc(64);
        sqe[0] = 0x7f;
        sqe[4] = fctype;
        sqe[40] = size === 8 ? 1 : 0;
        sqe.writeUInt32LE(offset, 44);
        sqe.writeBigUInt64LE(value, 48);
        const cqe = await adminCommand(sqe);
        return size === 8 ? cqe.readBigUInt64LE(0) : BigInt(cqe.readUInt32LE(0));
      };
      let aqa = 0;
      let asq = 0n;
      let acq = 0n;
      let nextIova = 0x10_0000n;

      /** I/O queues: created CQs, and SQs with their loopback connection. */
      const cqs = new Set<number>();
      interface SqEntry {
        q: HostQPair | undefined;
        /** The client's handler, once it called connectQPair for the qid. */
        target: HostQPairHandler | undefined;
      }
      const sqs = new Map<number, SqEntry>();

      async function createSq(qid: number, size: number, cqid: number): Promise<number> {
        if (!cqs.has(cqid)) return 0x100; // SCT 1, SC 00h: Completion Queue Invalid
        const wait = new Map<number, (cqe: Buffer) => void>();
        const entry: SqEntry = { q: undefined, target: undefined };
        const q = await inner.connectQPair({
          qid,
          queueSize: size,
          maxInCapsuleDataSize: 8192,
          handler: {
            completion(cqe) {
              const cid = (cqe[12] ?? 0) | ((cqe[13] ?? 0) << 8);
              const w = wait.get(cid);
              if (w !== undefined) {
                wait.delete(cid);
                w(Buffer.from(cqe));
              } else entry.target?.completion(cqe);
            },
            disconnected(err) {
              entry.target?.disconnected(err);
            },
          },
        });
        entry.q = q;
        await command(q, wait, 0, connectSqe(qid, size), connectData(cntlid));
        sqs.set(qid, entry);
        return 0;
      }

      /** Create/Delete I/O queue commands, answered here (on a later turn, like a controller). */
      function queueCommand(sqe: Uint8Array): boolean {
        const b = Buffer.from(sqe.buffer, sqe.byteOffset, 64);
        const op = b[0];
        if (op !== 0x00 && op !== 0x01 && op !== 0x04 && op !== 0x05) return false;
        const cid = b.readUInt16LE(2);
        const qid = b.readUInt16LE(40);
        const size = b.readUInt16LE(42) + 1;
        const prp1 = b.readBigUInt64LE(24);
        const done = (status: number): void => {
          setImmediate(() => clientAdmin?.completion(cqeFor(cid, status)));
        };
        if (op === 0x05) {
          log.events.push(`create cq ${qid} size ${size} prp1 0x${prp1.toString(16)} cdw11 0x${b.readUInt32LE(44).toString(16)}`);
          cqs.add(qid);
          done(0);
        } else if (op === 0x01) {
          const cqid = b.readUInt16LE(46);
          log.events.push(`create sq ${qid} size ${size} prp1 0x${prp1.toString(16)} cqid ${cqid}`);
          createSq(qid, size, cqid).then(done, () => {
            done(0x06); // Internal Error
          });
        } else if (op === 0x00) {
          log.events.push(`delete sq ${qid}`);
          const e = sqs.get(qid);
          sqs.delete(qid);
          if (e?.q === undefined) done(0x101); // Invalid Queue Identifier
          else {
            void e.q.close().then(() => {
              done(0);
            });
          }
        } else {
          log.events.push(`delete cq ${qid}`);
          done(cqs.delete(qid) && !sqs.has(qid) ? 0 : 0x101);
        }
        return true;
      }

      return {
        kind: 'pcie',
        trid,
        maxTransferSize: inner.maxTransferSize,
        async close() {
          clientAdmin = undefined;
          await inner.close();
        },
        readRegister32: async (offset) => (offset === REG_AQA ? aqa : Number(await property(4, offset, 4))),
        readRegister64: async (offset) => (offset === REG_ASQ ? asq : offset === REG_ACQ ? acq : property(4, offset, 8)),
        async writeRegister32(offset, value) {
          if (offset === REG_AQA) {
            aqa = value;
            log.events.push(`AQA=0x${value.toString(16)}`);
            return;
          }
          if (offset === REG_CC) log.events.push(`CC=0x${value.toString(16)}`);
          await property(0, offset, 4, BigInt(value));
        },
        async writeRegister64(offset, value) {
          if (offset === REG_ASQ || offset === REG_ACQ) {
            if (offset === REG_ASQ) asq = value;
            else acq = value;
            log.events.push(`${offset === REG_ASQ ? 'ASQ' : 'ACQ'}=0x${value.toString(16)}`);
            return;
          }
          await property(0, offset, 8, value);
        },
        allocDmaMemory(bytes, align): Promise<HostDmaMemory> {
          const a = BigInt(align);
          const iova = ((nextIova + a - 1n) / a) * a;
          nextIova = iova + BigInt(bytes);
          const rec = { iova, bytes, align, freed: false };
          log.allocated.push(rec);
          return Promise.resolve({
            buffer: new Uint8Array(bytes),
            iova,
            free() {
              rec.freed = true;
            },
          });
        },
        connectQPair(o): Promise<HostQPair> {
          if (o.queueMemory === undefined) return Promise.reject(new Error(`qpair ${o.qid} without queue memory`));
          if (o.qid === 0) {
            if (o.queueSize > PCIE_SHIM_MAX_ADMIN_QUEUE) return Promise.reject(new Error(`admin queue of ${o.queueSize} entries: at most ${PCIE_SHIM_MAX_ADMIN_QUEUE}`));
            if (o.queueMemory.sq.iova !== asq || o.queueMemory.cq.iova !== acq) return Promise.reject(new Error('admin queue memory is not what ASQ/ACQ say'));
            clientAdmin = o.handler;
            return Promise.resolve({
              qid: 0,
              queueSize: o.queueSize,
              inCapsuleDataSize: admin.inCapsuleDataSize,
              submit(sqe, data, off, len, dir) {
                if (!queueCommand(sqe)) admin.submit(sqe, data, off, len, dir);
              },
              close() {
                clientAdmin = undefined;
                return Promise.resolve();
              },
            });
          }
          const e = sqs.get(o.qid);
          const q = e?.q;
          if (e === undefined || q === undefined) return Promise.reject(new Error(`qpair ${o.qid}: no Create I/O SQ was sent`));
          e.target = o.handler;
          return Promise.resolve({
            qid: o.qid,
            queueSize: o.queueSize,
            inCapsuleDataSize: q.inCapsuleDataSize,
            submit: (sqe, data, off, len, dir) => {
              q.submit(sqe, data, off, len, dir);
            },
            close: () => q.close(),
          });
        },
      };
    },
  });
}
