/**
 * Allocation-free accessors of the SQE and CQE fields the per-I/O path reads and writes:
 * functions over a DataView and the byte offset of the entry in it. `SqeView` and `CqeView`
 * name the same fields for code that holds a view object; these are for code that holds a
 * DataView (a request's `sqeView` / `cqeView`, a slab of entries), so a hot path reads a field
 * by its NVMe name without an object per entry.
 *
 * SQE: NVMe Base 2.0 Figure 88 (common command format), NVM Command Set 1.0 Figure 47
 * (SLBA, NLB). CQE: NVMe Base 2.0 Figure 90.
 */

/** Byte offsets of the common SQE fields. */
export const SqeField = {
  OPCODE: 0,
  FLAGS: 1,
  CID: 2,
  NSID: 4,
  CDW2: 8,
  CDW3: 12,
  MPTR: 16,
  /** Data pointer: PRP1 + PRP2, or SGL1 (16 bytes). */
  DPTR: 24,
  /** PRP Entry 1 and 2 (in DPTR, 8 bytes each). */
  PRP1: 24,
  PRP2: 32,
  /** SGL1 (in DPTR): Address (8 bytes), Length (4 bytes), SGL Identifier (byte 15). */
  SGL1_ADDRESS: 24,
  SGL1_LENGTH: 32,
  SGL1_IDENTIFIER: 39,
  CDW10: 40,
  CDW11: 44,
  CDW12: 48,
  CDW13: 52,
  CDW14: 56,
  CDW15: 60,
} as const;

/** Byte offsets of the CQE fields. */
export const CqeField = {
  DW0: 0,
  DW1: 4,
  SQHD: 8,
  SQID: 10,
  CID: 12,
  /** Status halfword: bit 0 phase tag, bits 15:1 the status field. */
  STATUS: 14,
} as const;

const TWO_32 = 0x1_0000_0000;

/** Command Identifier (SQE bytes 3:2). */
export function sqeCid(dv: DataView, sqe: number): number {
  return dv.getUint16(sqe + SqeField.CID, true);
}
/** Namespace Identifier (SQE bytes 7:4). */
export function sqeNsid(dv: DataView, sqe: number): number {
  return dv.getUint32(sqe + SqeField.NSID, true);
}
/** Command Dword 10 (SQE bytes 43:40). */
export function sqeCdw10(dv: DataView, sqe: number): number {
  return dv.getUint32(sqe + SqeField.CDW10, true);
}
/** Command Dword 11 (SQE bytes 47:44). */
export function sqeCdw11(dv: DataView, sqe: number): number {
  return dv.getUint32(sqe + SqeField.CDW11, true);
}
/** Command Dword 12 (SQE bytes 51:48). */
export function sqeCdw12(dv: DataView, sqe: number): number {
  return dv.getUint32(sqe + SqeField.CDW12, true);
}
/** Starting LBA, CDW11:CDW10 (exact below 2^53). */
export function sqeSlba(dv: DataView, sqe: number): number {
  return dv.getUint32(sqe + SqeField.CDW10, true) + dv.getUint32(sqe + SqeField.CDW11, true) * TWO_32;
}
/** Number of Logical Blocks, 0's based (CDW12 bits 15:0), as `SqeView.nlb`. */
export function sqeNlb(dv: DataView, sqe: number): number {
  return dv.getUint16(sqe + SqeField.CDW12, true);
}

/** A 64-bit little-endian value below 2^53 at byte `at`, as two dword stores (no BigInt). */
function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % TWO_32, true);
  dv.setUint32(at + 4, Math.floor(v / TWO_32), true);
}
/** Writes PRP Entry 1 (SQE bytes 31:24), an address below 2^53. */
export function setSqePrp1(dv: DataView, sqe: number, v: number): void {
  setU64(dv, sqe + SqeField.PRP1, v);
}
/** Writes PRP Entry 2 (SQE bytes 39:32): the second page, or the PRP list's address, or 0. */
export function setSqePrp2(dv: DataView, sqe: number, v: number): void {
  setU64(dv, sqe + SqeField.PRP2, v);
}
/** Writes Command Dword 10 (SQE bytes 43:40). */
export function setSqeCdw10(dv: DataView, sqe: number, v: number): void {
  dv.setUint32(sqe + SqeField.CDW10, v >>> 0, true);
}
/** Writes entry `index` of a PRP list starting at byte `list` of `dv` (NVMe Base 2.0 §4.1.1: 8-byte entries). */
export function setPrpListEntry(dv: DataView, list: number, index: number, v: number): void {
  setU64(dv, list + index * 8, v);
}

/** Writes CQE DW0 (command specific). */
export function setCqeDw0(dv: DataView, cqe: number, v: number): void {
  dv.setUint32(cqe + CqeField.DW0, v >>> 0, true);
}
/** Zeroes the 16-byte CQE with four dword stores (cheaper than a native fill for 16 bytes). */
export function clearCqe(dv: DataView, cqe: number): void {
  dv.setUint32(cqe, 0, true);
  dv.setUint32(cqe + 4, 0, true);
  dv.setUint32(cqe + 8, 0, true);
  dv.setUint32(cqe + 12, 0, true);
}
/**
 * Writes CQE DW3:DW2: SQ Head Pointer, SQ Identifier, Command Identifier and the status field
 * (phase tag 0; a PCIe-style transport sets the phase).
 */
export function setCqeCompletion(dv: DataView, cqe: number, sqhd: number, sqid: number, cid: number, status: number): void {
  dv.setUint16(cqe + CqeField.SQHD, sqhd, true);
  dv.setUint16(cqe + CqeField.SQID, sqid, true);
  dv.setUint16(cqe + CqeField.CID, cid, true);
  dv.setUint16(cqe + CqeField.STATUS, (status << 1) & 0xfffe, true);
}
