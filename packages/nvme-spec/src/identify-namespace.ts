/**
 * Identify Namespace (CNS 00h, NVM CS 1.0 Figure 97) with its LBA formats, and the I/O Command
 * Set Independent Identify Namespace (CNS 08h). Offsets cross-checked with SPDK
 * `struct spdk_nvme_ns_data` and Linux `struct nvme_id_ns`.
 */
import { StructView } from './view.js';
import { IDENTIFY_DATA_SIZE } from './identify-cns.js';

/** One LBA format (Identify Namespace bytes 128 + 4n, NVM CS 1.0 Figure 98). */
export interface LbaFormat {
  /** Metadata Size in bytes. */
  ms: number;
  /** LBA Data Size as a power of two (9 = 512 bytes, 12 = 4096). */
  lbads: number;
  /** Relative Performance (0 best .. 3 degraded). */
  rp: number;
}

/** Identify Namespace data structure (CNS 00h, NVM command set): 4096 bytes. */
export class IdentifyNamespaceView extends StructView {
  static readonly SIZE = IDENTIFY_DATA_SIZE;
  /** Number of LBA format slots (NVMe 2.0 allows 64). */
  static readonly MAX_LBA_FORMATS = 64;
  get byteLength(): number {
    return IDENTIFY_DATA_SIZE;
  }
  /** Namespace Size in logical blocks (bytes 7:0). */
  get nsze(): number {
    return this.u64(0);
  }
  set nsze(v: number) {
    this.setU64(0, v);
  }
  get nszeBig(): bigint {
    return this.u64Big(0);
  }
  set nszeBig(v: bigint) {
    this.setU64Big(0, v);
  }
  /** Namespace Capacity in logical blocks (bytes 15:8). */
  get ncap(): number {
    return this.u64(8);
  }
  set ncap(v: number) {
    this.setU64(8, v);
  }
  get ncapBig(): bigint {
    return this.u64Big(8);
  }
  set ncapBig(v: bigint) {
    this.setU64Big(8, v);
  }
  /** Namespace Utilization in logical blocks (bytes 23:16). */
  get nuse(): number {
    return this.u64(16);
  }
  set nuse(v: number) {
    this.setU64(16, v);
  }
  get nuseBig(): bigint {
    return this.u64Big(16);
  }
  set nuseBig(v: bigint) {
    this.setU64Big(16, v);
  }
  /** Namespace Features: bit 0 thin provisioning, 1 NAWUN/NAWUPF/NACWU, 2 DULBE, 3 NGUID/EUI64 never reused, 4 NPWG..NOWS (byte 24). */
  get nsfeat(): number {
    return this.u8(24);
  }
  set nsfeat(v: number) {
    this.setU8(24, v);
  }
  /** Number of LBA Formats, 0's based (byte 25). */
  get nlbaf(): number {
    return this.u8(25);
  }
  set nlbaf(v: number) {
    this.setU8(25, v);
  }
  /** Formatted LBA Size: bits 3:0 format index (low), bit 4 extended metadata, bits 6:5 index (high) (byte 26). */
  get flbas(): number {
    return this.u8(26);
  }
  set flbas(v: number) {
    this.setU8(26, v);
  }
  /** Metadata Capabilities (byte 27). */
  get mc(): number {
    return this.u8(27);
  }
  set mc(v: number) {
    this.setU8(27, v);
  }
  /** End-to-end Data Protection Capabilities (byte 28). */
  get dpc(): number {
    return this.u8(28);
  }
  set dpc(v: number) {
    this.setU8(28, v);
  }
  /** End-to-end Data Protection Type Settings (byte 29). */
  get dps(): number {
    return this.u8(29);
  }
  set dps(v: number) {
    this.setU8(29, v);
  }
  /** Namespace Multi-path I/O and Namespace Sharing Capabilities: bit 0 shared (byte 30). */
  get nmic(): number {
    return this.u8(30);
  }
  set nmic(v: number) {
    this.setU8(30, v);
  }
  /** Reservation Capabilities (byte 31). */
  get rescap(): number {
    return this.u8(31);
  }
  set rescap(v: number) {
    this.setU8(31, v);
  }
  /** Format Progress Indicator (byte 32). */
  get fpi(): number {
    return this.u8(32);
  }
  set fpi(v: number) {
    this.setU8(32, v);
  }
  /** Deallocate Logical Block Features: bits 2:0 read value after deallocate, bit 3 Write Zeroes may deallocate (byte 33). */
  get dlfeat(): number {
    return this.u8(33);
  }
  set dlfeat(v: number) {
    this.setU8(33, v);
  }
  /** Namespace Atomic Write Unit Normal (bytes 35:34). */
  get nawun(): number {
    return this.u16(34);
  }
  set nawun(v: number) {
    this.setU16(34, v);
  }
  /** Namespace Atomic Write Unit Power Fail (bytes 37:36). */
  get nawupf(): number {
    return this.u16(36);
  }
  set nawupf(v: number) {
    this.setU16(36, v);
  }
  /** Namespace Atomic Compare & Write Unit (bytes 39:38). */
  get nacwu(): number {
    return this.u16(38);
  }
  set nacwu(v: number) {
    this.setU16(38, v);
  }
  /** Namespace Atomic Boundary Size Normal (bytes 41:40). */
  get nabsn(): number {
    return this.u16(40);
  }
  set nabsn(v: number) {
    this.setU16(40, v);
  }
  /** Namespace Atomic Boundary Offset (bytes 43:42). */
  get nabo(): number {
    return this.u16(42);
  }
  set nabo(v: number) {
    this.setU16(42, v);
  }
  /** Namespace Atomic Boundary Size Power Fail (bytes 45:44). */
  get nabspf(): number {
    return this.u16(44);
  }
  set nabspf(v: number) {
    this.setU16(44, v);
  }
  /** Namespace Optimal I/O Boundary (bytes 47:46). */
  get noiob(): number {
    return this.u16(46);
  }
  set noiob(v: number) {
    this.setU16(46, v);
  }
  /** NVM Capacity in bytes (bytes 63:48). Number accessor is approximate above 2^53. */
  get nvmcap(): number {
    return this.u64(48) + this.u64(56) * 2 ** 64;
  }
  set nvmcap(v: number) {
    this.setU128Big(48, BigInt(Math.floor(v)));
  }
  get nvmcapBig(): bigint {
    return this.u128Big(48);
  }
  set nvmcapBig(v: bigint) {
    this.setU128Big(48, v);
  }
  /** Namespace Preferred Write Granularity, 0's based (bytes 65:64). */
  get npwg(): number {
    return this.u16(64);
  }
  set npwg(v: number) {
    this.setU16(64, v);
  }
  /** Namespace Preferred Write Alignment, 0's based (bytes 67:66). */
  get npwa(): number {
    return this.u16(66);
  }
  set npwa(v: number) {
    this.setU16(66, v);
  }
  /** Namespace Preferred Deallocate Granularity, 0's based (bytes 69:68). */
  get npdg(): number {
    return this.u16(68);
  }
  set npdg(v: number) {
    this.setU16(68, v);
  }
  /** Namespace Preferred Deallocate Alignment, 0's based (bytes 71:70). */
  get npda(): number {
    return this.u16(70);
  }
  set npda(v: number) {
    this.setU16(70, v);
  }
  /** Namespace Optimal Write Size, 0's based (bytes 73:72). */
  get nows(): number {
    return this.u16(72);
  }
  set nows(v: number) {
    this.setU16(72, v);
  }
  /** Maximum Single Source Range Length (Copy) (bytes 75:74). */
  get mssrl(): number {
    return this.u16(74);
  }
  set mssrl(v: number) {
    this.setU16(74, v);
  }
  /** Maximum Copy Length (bytes 79:76). */
  get mcl(): number {
    return this.u32(76);
  }
  set mcl(v: number) {
    this.setU32(76, v);
  }
  /** Maximum Source Range Count, 0's based (byte 80). */
  get msrc(): number {
    return this.u8(80);
  }
  set msrc(v: number) {
    this.setU8(80, v);
  }
  /** Number of Unique Capability LBA Formats, 0's based (byte 81). */
  get nulbaf(): number {
    return this.u8(81);
  }
  set nulbaf(v: number) {
    this.setU8(81, v);
  }
  /** ANA Group Identifier (bytes 95:92). */
  get anagrpid(): number {
    return this.u32(92);
  }
  set anagrpid(v: number) {
    this.setU32(92, v);
  }
  /** Namespace Attributes: bit 0 write protected (byte 99). */
  get nsattr(): number {
    return this.u8(99);
  }
  set nsattr(v: number) {
    this.setU8(99, v);
  }
  /** NVM Set Identifier (bytes 101:100). */
  get nvmsetid(): number {
    return this.u16(100);
  }
  set nvmsetid(v: number) {
    this.setU16(100, v);
  }
  /** Endurance Group Identifier (bytes 103:102). */
  get endgid(): number {
    return this.u16(102);
  }
  set endgid(v: number) {
    this.setU16(102, v);
  }
  /** Namespace Globally Unique Identifier (bytes 119:104); the getter returns a copy. */
  get nguid(): Uint8Array {
    return this.raw(104, 16);
  }
  set nguid(v: Uint8Array) {
    this.setRaw(104, 16, v);
  }
  /** IEEE Extended Unique Identifier (bytes 127:120); the getter returns a copy. */
  get eui64(): Uint8Array {
    return this.raw(120, 8);
  }
  set eui64(v: Uint8Array) {
    this.setRaw(120, 8, v);
  }

  /** Index of the formatted LBA format: FLBAS bits 3:0 plus bits 6:5 as bits 5:4. */
  get formatIndex(): number {
    const f = this.u8(26);
    return (f & 0xf) | (((f >> 5) & 0x3) << 4);
  }
  set formatIndex(v: number) {
    const f = this.u8(26) & 0x90;
    this.setU8(26, f | (v & 0xf) | (((v >> 4) & 0x3) << 5));
  }
  /** FLBAS bit 4: metadata transferred at the end of each LBA (extended LBA). */
  get extendedLba(): boolean {
    return this.bit(26, 4);
  }
  set extendedLba(v: boolean) {
    this.setBit(26, 4, v);
  }
  /** Shared namespace (NMIC bit 0). */
  get shared(): boolean {
    return this.bit(30, 0);
  }
  set shared(v: boolean) {
    this.setBit(30, 0, v);
  }

  private lbafOffset(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= IdentifyNamespaceView.MAX_LBA_FORMATS) throw new RangeError(`LBA format ${i} outside 0..63`);
    return 128 + i * 4;
  }
  /** LBA format `i`. */
  lbaf(i: number): LbaFormat {
    const o = this.lbafOffset(i);
    return { ms: this.u16(o), lbads: this.u8(o + 2), rp: this.u8(o + 3) & 0x3 };
  }
  setLbaf(i: number, f: LbaFormat): void {
    const o = this.lbafOffset(i);
    this.setU16(o, f.ms);
    this.setU8(o + 2, f.lbads);
    this.setU8(o + 3, f.rp & 0x3);
  }
  /** LBA data size exponent of format `i` (no allocation). */
  lbafLbads(i: number): number {
    return this.u8(this.lbafOffset(i) + 2);
  }
  /** Block size in bytes of the formatted LBA format (2^LBADS). */
  get blockSize(): number {
    const i = this.formatIndex;
    return i < IdentifyNamespaceView.MAX_LBA_FORMATS ? 2 ** this.lbafLbads(i) : 0;
  }

  /** Vendor Specific area (bytes 4095:3840) as a subarray (no copy). */
  get vs(): Uint8Array {
    return this.buf.subarray(this.offset + 3840, this.offset + 4096);
  }
}

/**
 * I/O Command Set Independent Identify Namespace (CNS 08h, NVMe Base 2.0 Figure 280). Linux's
 * namespace scan asks for it when CAP.CRMS.CRIMS is set or the namespace CSI is neither NVM nor
 * ZNS, and some kernels for every controller reporting VER >= 2.0 (then falling back to CNS 00h
 * on an NVMe error status): answer it, or fail it with Invalid Field.
 */
export class IdentifyNamespaceIndependentView extends StructView {
  static readonly SIZE = IDENTIFY_DATA_SIZE;
  get byteLength(): number {
    return IDENTIFY_DATA_SIZE;
  }
  /** Namespace Features: bit 3 UID reuse, bit 4 rotational media, bit 5 VWC not present (byte 0). */
  get nsfeat(): number {
    return this.u8(0);
  }
  set nsfeat(v: number) {
    this.setU8(0, v);
  }
  /** Namespace Multi-path I/O and Namespace Sharing Capabilities: bit 0 shared (byte 1). */
  get nmic(): number {
    return this.u8(1);
  }
  set nmic(v: number) {
    this.setU8(1, v);
  }
  /** Reservation Capabilities (byte 2). */
  get rescap(): number {
    return this.u8(2);
  }
  set rescap(v: number) {
    this.setU8(2, v);
  }
  /** Format Progress Indicator (byte 3). */
  get fpi(): number {
    return this.u8(3);
  }
  set fpi(v: number) {
    this.setU8(3, v);
  }
  /** ANA Group Identifier (bytes 7:4). */
  get anagrpid(): number {
    return this.u32(4);
  }
  set anagrpid(v: number) {
    this.setU32(4, v);
  }
  /** Namespace Attributes: bit 0 write protected (byte 8). */
  get nsattr(): number {
    return this.u8(8);
  }
  set nsattr(v: number) {
    this.setU8(8, v);
  }
  /** NVM Set Identifier (bytes 11:10). */
  get nvmsetid(): number {
    return this.u16(10);
  }
  set nvmsetid(v: number) {
    this.setU16(10, v);
  }
  /** Endurance Group Identifier (bytes 13:12). */
  get endgid(): number {
    return this.u16(12);
  }
  set endgid(v: number) {
    this.setU16(12, v);
  }
  /** Namespace Status: bit 0 namespace ready (Linux skips a namespace that is not ready) (byte 14). */
  get nstat(): number {
    return this.u8(14);
  }
  set nstat(v: number) {
    this.setU8(14, v);
  }
}
