/**
 * SGL descriptors (NVMe Base 2.0 §4.3.2, Figures 112-119). Every descriptor is 16 bytes:
 *   bytes 07:00 address (or offset), bytes 14:08 type specific, byte 15 SGL identifier with the
 *   descriptor type in bits 7:4 and the sub type in bits 3:0.
 * Keyed SGL Data Block (NVMe-oF, RDMA): bytes 10:08 length (24 bits), bytes 14:11 key.
 */
import { StructView } from './view.js';

export const SglDescriptorType = {
  DataBlock: 0x0,
  BitBucket: 0x1,
  Segment: 0x2,
  LastSegment: 0x3,
  KeyedDataBlock: 0x4,
  TransportDataBlock: 0x5,
  VendorSpecific: 0xf,
} as const;
export type SglDescriptorType = (typeof SglDescriptorType)[keyof typeof SglDescriptorType];

export const SglSubtype = {
  /** The address field is a memory address. */
  Address: 0x0,
  /** The address field is an offset (into in-capsule data for NVMe-oF). */
  Offset: 0x1,
  /** Transport specific (e.g. RDMA invalidate key for keyed descriptors). */
  TransportSpecific: 0xa,
} as const;
export type SglSubtype = (typeof SglSubtype)[keyof typeof SglSubtype];

/** PSDT, SQE byte 1 bits 7:6: whether DPTR holds PRPs or an SGL (NVMe Base 2.0 Figure 87). */
export const Psdt = {
  Prp: 0,
  SglMptrContiguous: 1,
  SglMptrSegment: 2,
} as const;
export type Psdt = (typeof Psdt)[keyof typeof Psdt];

/** Byte value of the SGL identifier: `(type << 4) | subtype`. */
export function sglIdentifier(type: number, subtype: number): number {
  return ((type & 0xf) << 4) | (subtype & 0xf);
}

/** A 16-byte SGL descriptor: in the SQE (SGL1 at byte 24) or in a segment. */
export class SglDescriptorView extends StructView {
  static readonly SIZE = 16;
  get byteLength(): number {
    return SglDescriptorView.SIZE;
  }

  /** Address or offset (bytes 07:00), number accessor (exact below 2^53). */
  get address(): number {
    return this.u64(0);
  }
  set address(v: number) {
    this.setU64(0, v);
  }
  get addressBig(): bigint {
    return this.u64Big(0);
  }
  set addressBig(v: bigint) {
    this.setU64Big(0, v);
  }
  /** Length (bytes 11:08) for Data Block, Bit Bucket, Segment, Last Segment, Transport Data Block. */
  get length(): number {
    return this.u32(8);
  }
  set length(v: number) {
    this.setU32(8, v);
  }
  /** Keyed Data Block length (bytes 10:08, 24 bits). */
  get keyedLength(): number {
    return this.u24(8);
  }
  set keyedLength(v: number) {
    this.setU24(8, v);
  }
  /** Keyed Data Block key (bytes 14:11). */
  get key(): number {
    return this.u32(11);
  }
  set key(v: number) {
    this.setU32(11, v);
  }
  /** SGL identifier byte (15). */
  get identifier(): number {
    return this.u8(15);
  }
  set identifier(v: number) {
    this.setU8(15, v);
  }
  /** Descriptor type (byte 15 bits 7:4). */
  get type(): number {
    return this.u8(15) >> 4;
  }
  set type(v: number) {
    this.setU8(15, ((v & 0xf) << 4) | (this.u8(15) & 0xf));
  }
  /** Descriptor sub type (byte 15 bits 3:0). */
  get subtype(): number {
    return this.u8(15) & 0xf;
  }
  set subtype(v: number) {
    this.setU8(15, (this.u8(15) & 0xf0) | (v & 0xf));
  }

  /** Fill as a non-keyed descriptor (Data Block, Segment, Last Segment, Bit Bucket, Transport). */
  set(type: number, subtype: number, address: number, length: number): this {
    this.address = address;
    this.setU32(8, length);
    this.setU16(12, 0);
    this.setU8(14, 0);
    this.setU8(15, sglIdentifier(type, subtype));
    return this;
  }

  /** Fill as a Keyed SGL Data Block (NVMe-oF RDMA). */
  setKeyed(subtype: number, address: number, length: number, key: number): this {
    this.address = address;
    this.setU24(8, length);
    this.setU32(11, key);
    this.setU8(15, sglIdentifier(SglDescriptorType.KeyedDataBlock, subtype));
    return this;
  }
}
