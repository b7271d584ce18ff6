/**
 * Admin commands with their own dword layouts (NVMe Base 2.0 §5): queue creation and deletion,
 * Abort. Identify, Get Log Page and Get/Set Features fields sit on `SqeView` directly (cns, lid,
 * fid, ...), since their names do not collide.
 */
import { AdminOpcode } from './opcodes.js';
import { SqeView } from './sqe.js';

/** Create I/O Completion Queue (§5.4): CDW10 QID 15:0, QSIZE 31:16; CDW11 PC, IEN, IV 31:16. */
export class CreateIoCqCommandView extends SqeView {
  init(cid: number): this {
    this.clear();
    this.opcode = AdminOpcode.CreateIoCq;
    this.cid = cid;
    return this;
  }
  /** Queue Identifier (CDW10 bits 15:0). */
  get qid(): number {
    return this.u16(40);
  }
  set qid(v: number) {
    this.setU16(40, v);
  }
  /** Queue Size, 0's based (CDW10 bits 31:16). */
  get qsize(): number {
    return this.u16(42);
  }
  set qsize(v: number) {
    this.setU16(42, v);
  }
  /** Physically Contiguous (CDW11 bit 0). */
  get pc(): boolean {
    return this.bit(44, 0);
  }
  set pc(v: boolean) {
    this.setBit(44, 0, v);
  }
  /** Interrupts Enabled (CDW11 bit 1). */
  get ien(): boolean {
    return this.bit(44, 1);
  }
  set ien(v: boolean) {
    this.setBit(44, 1, v);
  }
  /** Interrupt Vector (CDW11 bits 31:16). */
  get iv(): number {
    return this.u16(46);
  }
  set iv(v: number) {
    this.setU16(46, v);
  }
}

/** Queue priority (Create I/O SQ CDW11 bits 2:1). */
export const QueuePriority = {
  Urgent: 0,
  High: 1,
  Medium: 2,
  Low: 3,
} as const;

/** Create I/O Submission Queue (§5.5): CDW10 QID/QSIZE; CDW11 PC, QPRIO 2:1, CQID 31:16; CDW12 NVMSETID. */
export class CreateIoSqCommandView extends SqeView {
  init(cid: number): this {
    this.clear();
    this.opcode = AdminOpcode.CreateIoSq;
    this.cid = cid;
    return this;
  }
  get qid(): number {
    return this.u16(40);
  }
  set qid(v: number) {
    this.setU16(40, v);
  }
  /** Queue Size, 0's based. */
  get qsize(): number {
    return this.u16(42);
  }
  set qsize(v: number) {
    this.setU16(42, v);
  }
  get pc(): boolean {
    return this.bit(44, 0);
  }
  set pc(v: boolean) {
    this.setBit(44, 0, v);
  }
  /** Queue Priority (CDW11 bits 2:1). */
  get qprio(): number {
    return (this.u8(44) >> 1) & 0x3;
  }
  set qprio(v: number) {
    this.setU8(44, (this.u8(44) & ~0x6) | ((v & 0x3) << 1));
  }
  /** Completion Queue Identifier (CDW11 bits 31:16). */
  get cqid(): number {
    return this.u16(46);
  }
  set cqid(v: number) {
    this.setU16(46, v);
  }
  /** NVM Set Identifier (CDW12 bits 15:0). */
  get nvmsetid(): number {
    return this.u16(48);
  }
  set nvmsetid(v: number) {
    this.setU16(48, v);
  }
}

/** Delete I/O Submission / Completion Queue (§5.6, §5.7): CDW10 QID 15:0. */
export class DeleteIoQueueCommandView extends SqeView {
  init(cid: number, opcode: typeof AdminOpcode.DeleteIoSq | typeof AdminOpcode.DeleteIoCq, qid: number): this {
    this.clear();
    this.opcode = opcode;
    this.cid = cid;
    this.qid = qid;
    return this;
  }
  get qid(): number {
    return this.u16(40);
  }
  set qid(v: number) {
    this.setU16(40, v);
  }
}

/** Abort (§5.1): CDW10 SQID 15:0, CID 31:16 of the command to abort. */
export class AbortCommandView extends SqeView {
  get sqid(): number {
    return this.u16(40);
  }
  set sqid(v: number) {
    this.setU16(40, v);
  }
  /** Command Identifier of the command to abort (CDW10 bits 31:16). */
  get abortCid(): number {
    return this.u16(42);
  }
  set abortCid(v: number) {
    this.setU16(42, v);
  }
}

/** Format NVM CDW10 (§5.23, Figure 301). */
export interface FormatNvm {
  /** LBA format index (LBAFU:LBAFL, bits 13:12 and 3:0). */
  lbaf: number;
  /** Metadata Settings: metadata as part of an extended LBA (bit 4). */
  mset: boolean;
  /** Protection Information type (bits 7:5). */
  pi: number;
  /** Protection Information Location: first bytes of metadata (bit 8). */
  pil: boolean;
  /** Secure Erase Settings (bits 11:9): 0 none, 1 user data erase, 2 cryptographic erase. */
  ses: number;
}
export function decodeFormatNvm(cdw10: number): FormatNvm {
  return {
    lbaf: (cdw10 & 0xf) | (((cdw10 >>> 12) & 0x3) << 4),
    mset: ((cdw10 >>> 4) & 1) === 1,
    pi: (cdw10 >>> 5) & 0x7,
    pil: ((cdw10 >>> 8) & 1) === 1,
    ses: (cdw10 >>> 9) & 0x7,
  };
}
export function encodeFormatNvm(f: Partial<FormatNvm>): number {
  const lbaf = f.lbaf ?? 0;
  return (
    (lbaf & 0xf) |
    (f.mset === true ? 1 << 4 : 0) |
    (((f.pi ?? 0) & 0x7) << 5) |
    (f.pil === true ? 1 << 8 : 0) |
    (((f.ses ?? 0) & 0x7) << 9) |
    (((lbaf >> 4) & 0x3) << 12)
  );
}

/** Firmware Commit CDW10 (§5.11): FS slot 2:0, CA commit action 5:3, BPID 31. */
export interface FirmwareCommit {
  fs: number;
  ca: number;
  bpid: boolean;
}
export function decodeFirmwareCommit(cdw10: number): FirmwareCommit {
  return { fs: cdw10 & 0x7, ca: (cdw10 >>> 3) & 0x7, bpid: cdw10 >>> 31 === 1 };
}
export function encodeFirmwareCommit(f: Partial<FirmwareCommit>): number {
  return (((f.fs ?? 0) & 0x7) | (((f.ca ?? 0) & 0x7) << 3) | (f.bpid === true ? 0x80000000 : 0)) >>> 0;
}
