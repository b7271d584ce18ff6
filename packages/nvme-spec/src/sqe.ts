/**
 * Submission Queue Entry: the 64-byte command (NVMe Base 2.0 §4.2, Figure 87 common format).
 *
 *   byte 0 opcode | 1 FUSE (1:0), PSDT (7:6) | 3:2 CID | 7:4 NSID (fabrics: byte 4 FCTYPE)
 *   11:8 CDW2 | 15:12 CDW3 | 23:16 MPTR | 39:24 DPTR (PRP1 @24, PRP2 @32, or SGL1)
 *   43:40 CDW10 | 47:44 CDW11 | 51:48 CDW12 | 55:52 CDW13 | 59:56 CDW14 | 63:60 CDW15
 *
 * Named NVM fields follow NVM Command Set 1.0 §3.2 (Read/Write Figures 37-39, DSM, Write Zeroes).
 * Named admin fields (Identify, Get Log Page, Features, queue creation) follow NVMe Base 2.0 §5.
 */
import { SglDescriptorView } from './sgl.js';
import { StructView } from './view.js';

/** FUSE field values (NVMe Base 2.0 Figure 87). */
export const Fuse = {
  Normal: 0,
  First: 1,
  Second: 2,
} as const;
export type Fuse = (typeof Fuse)[keyof typeof Fuse];

export const SQE_SIZE = 64;

export class SqeView extends StructView {
  static readonly SIZE = SQE_SIZE;
  get byteLength(): number {
    return SQE_SIZE;
  }

  private sglView: SglDescriptorView | undefined;

  // ---- common command dwords -------------------------------------------------------------
  get opcode(): number {
    return this.u8(0);
  }
  set opcode(v: number) {
    this.setU8(0, v);
  }
  /** Byte 1 whole (FUSE + PSDT). */
  get flags(): number {
    return this.u8(1);
  }
  set flags(v: number) {
    this.setU8(1, v);
  }
  get fuse(): number {
    return this.u8(1) & 0x3;
  }
  set fuse(v: number) {
    this.setU8(1, (this.u8(1) & ~0x3) | (v & 0x3));
  }
  /** PRP or SGL for Data Transfer (see `Psdt`). */
  get psdt(): number {
    return this.u8(1) >> 6;
  }
  set psdt(v: number) {
    this.setU8(1, (this.u8(1) & 0x3f) | ((v & 0x3) << 6));
  }
  get cid(): number {
    return this.u16(2);
  }
  set cid(v: number) {
    this.setU16(2, v);
  }
  get nsid(): number {
    return this.u32(4);
  }
  set nsid(v: number) {
    this.setU32(4, v);
  }
  /** Fabrics command type (byte 4) — only for opcode 0x7f, overlays NSID. */
  get fctype(): number {
    return this.u8(4);
  }
  set fctype(v: number) {
    this.setU8(4, v);
  }
  get cdw2(): number {
    return this.u32(8);
  }
  set cdw2(v: number) {
    this.setU32(8, v);
  }
  get cdw3(): number {
    return this.u32(12);
  }
  set cdw3(v: number) {
    this.setU32(12, v);
  }
  /** Metadata pointer (bytes 23:16). */
  get mptr(): number {
    return this.u64(16);
  }
  set mptr(v: number) {
    this.setU64(16, v);
  }
  get mptrBig(): bigint {
    return this.u64Big(16);
  }
  set mptrBig(v: bigint) {
    this.setU64Big(16, v);
  }
  /** PRP Entry 1 (bytes 31:24). */
  get prp1(): number {
    return this.u64(24);
  }
  set prp1(v: number) {
    this.setU64(24, v);
  }
  get prp1Big(): bigint {
    return this.u64Big(24);
  }
  set prp1Big(v: bigint) {
    this.setU64Big(24, v);
  }
  /** PRP Entry 2 (bytes 39:32). */
  get prp2(): number {
    return this.u64(32);
  }
  set prp2(v: number) {
    this.setU64(32, v);
  }
  get prp2Big(): bigint {
    return this.u64Big(32);
  }
  set prp2Big(v: bigint) {
    this.setU64Big(32, v);
  }
  /**
   * SGL1 (bytes 39:24) as a descriptor view. The view is created on first use and re-attached
   * afterwards, so repeated use allocates nothing.
   */
  get sgl1(): SglDescriptorView {
    if (this.sglView === undefined) this.sglView = new SglDescriptorView(this.buf, this.offset + 24);
    else if (this.sglView.buf !== this.buf || this.sglView.offset !== this.offset + 24) this.sglView.attach(this.buf, this.offset + 24);
    return this.sglView;
  }
  /** SGL1 address (bytes 31:24). */
  get sgl1Address(): number {
    return this.u64(24);
  }
  set sgl1Address(v: number) {
    this.setU64(24, v);
  }
  get sgl1AddressBig(): bigint {
    return this.u64Big(24);
  }
  set sgl1AddressBig(v: bigint) {
    this.setU64Big(24, v);
  }
  /** SGL1 length (bytes 35:32) for non-keyed descriptors. */
  get sgl1Length(): number {
    return this.u32(32);
  }
  set sgl1Length(v: number) {
    this.setU32(32, v);
  }
  /** Keyed SGL1 length (bytes 34:32). */
  get sgl1KeyedLength(): number {
    return this.u24(32);
  }
  set sgl1KeyedLength(v: number) {
    this.setU24(32, v);
  }
  /** Keyed SGL1 key (bytes 38:35). */
  get sgl1Key(): number {
    return this.u32(35);
  }
  set sgl1Key(v: number) {
    this.setU32(35, v);
  }
  /** SGL1 type (byte 39 bits 7:4). */
  get sgl1Type(): number {
    return this.u8(39) >> 4;
  }
  set sgl1Type(v: number) {
    this.setU8(39, ((v & 0xf) << 4) | (this.u8(39) & 0xf));
  }
  /** SGL1 sub type (byte 39 bits 3:0). */
  get sgl1Subtype(): number {
    return this.u8(39) & 0xf;
  }
  set sgl1Subtype(v: number) {
    this.setU8(39, (this.u8(39) & 0xf0) | (v & 0xf));
  }
  get cdw10(): number {
    return this.u32(40);
  }
  set cdw10(v: number) {
    this.setU32(40, v);
  }
  get cdw11(): number {
    return this.u32(44);
  }
  set cdw11(v: number) {
    this.setU32(44, v);
  }
  get cdw12(): number {
    return this.u32(48);
  }
  set cdw12(v: number) {
    this.setU32(48, v);
  }
  get cdw13(): number {
    return this.u32(52);
  }
  set cdw13(v: number) {
    this.setU32(52, v);
  }
  get cdw14(): number {
    return this.u32(56);
  }
  set cdw14(v: number) {
    this.setU32(56, v);
  }
  get cdw15(): number {
    return this.u32(60);
  }
  set cdw15(v: number) {
    this.setU32(60, v);
  }

  // ---- NVM I/O commands (Read, Write, Compare, Write Zeroes, Verify) ----------------------
  /** Starting LBA (CDW11:CDW10). */
  get slba(): number {
    return this.u64(40);
  }
  set slba(v: number) {
    this.setU64(40, v);
  }
  get slbaBig(): bigint {
    return this.u64Big(40);
  }
  set slbaBig(v: bigint) {
    this.setU64Big(40, v);
  }
  /** Number of logical blocks, 0's based (CDW12 bits 15:0). */
  get nlb(): number {
    return this.u16(48);
  }
  set nlb(v: number) {
    this.setU16(48, v);
  }
  /** Directive type (CDW12 bits 23:20). */
  get dtype(): number {
    return (this.u8(50) >> 4) & 0xf;
  }
  set dtype(v: number) {
    this.setU8(50, (this.u8(50) & 0x0f) | ((v & 0xf) << 4));
  }
  /** Storage Tag Check (CDW12 bit 24). */
  get stc(): boolean {
    return this.bit(51, 0);
  }
  set stc(v: boolean) {
    this.setBit(51, 0, v);
  }
  /** Deallocate (Write Zeroes CDW12 bit 25). */
  get deac(): boolean {
    return this.bit(51, 1);
  }
  set deac(v: boolean) {
    this.setBit(51, 1, v);
  }
  /** Protection information field (CDW12 bits 29:26). */
  get prinfo(): number {
    return (this.u8(51) >> 2) & 0xf;
  }
  set prinfo(v: number) {
    this.setU8(51, (this.u8(51) & 0xc3) | ((v & 0xf) << 2));
  }
  /** Force Unit Access (CDW12 bit 30). */
  get fua(): boolean {
    return this.bit(51, 6);
  }
  set fua(v: boolean) {
    this.setBit(51, 6, v);
  }
  /** Limited Retry (CDW12 bit 31). */
  get lr(): boolean {
    return this.bit(51, 7);
  }
  set lr(v: boolean) {
    this.setBit(51, 7, v);
  }
  /** Dataset management hints (CDW13 bits 7:0) of Read/Write. */
  get dsm(): number {
    return this.u8(52);
  }
  set dsm(v: number) {
    this.setU8(52, v);
  }
  /** Directive specific (CDW13 bits 31:16). */
  get dspec(): number {
    return this.u16(54);
  }
  set dspec(v: number) {
    this.setU16(54, v);
  }
  /** Expected initial logical block reference tag (CDW14). */
  get reftag(): number {
    return this.u32(56);
  }
  set reftag(v: number) {
    this.setU32(56, v);
  }
  /** Expected logical block application tag (CDW15 bits 15:0). */
  get apptag(): number {
    return this.u16(60);
  }
  set apptag(v: number) {
    this.setU16(60, v);
  }
  /** Expected logical block application tag mask (CDW15 bits 31:16). */
  get appmask(): number {
    return this.u16(62);
  }
  set appmask(v: number) {
    this.setU16(62, v);
  }

  // ---- Dataset Management (NVM CS 1.0 §3.2.3) --------------------------------------------
  /** Number of ranges, 0's based (CDW10 bits 7:0). */
  get dsmNr(): number {
    return this.u8(40);
  }
  set dsmNr(v: number) {
    this.setU8(40, v);
  }
  /** Integral Dataset for Read (CDW11 bit 0). */
  get dsmIdr(): boolean {
    return this.bit(44, 0);
  }
  set dsmIdr(v: boolean) {
    this.setBit(44, 0, v);
  }
  /** Integral Dataset for Write (CDW11 bit 1). */
  get dsmIdw(): boolean {
    return this.bit(44, 1);
  }
  set dsmIdw(v: boolean) {
    this.setBit(44, 1, v);
  }
  /** Attribute Deallocate (CDW11 bit 2). */
  get dsmAd(): boolean {
    return this.bit(44, 2);
  }
  set dsmAd(v: boolean) {
    this.setBit(44, 2, v);
  }

  // ---- Identify (NVMe Base 2.0 §5.17, Figure 273) -------------------------------------------
  /** Controller or Namespace Structure (CDW10 bits 7:0). */
  get cns(): number {
    return this.u8(40);
  }
  set cns(v: number) {
    this.setU8(40, v);
  }
  /** Controller Identifier (CDW10 bits 31:16). */
  get cntid(): number {
    return this.u16(42);
  }
  set cntid(v: number) {
    this.setU16(42, v);
  }
  /** CNS Specific Identifier (CDW11 bits 15:0). */
  get cnssid(): number {
    return this.u16(44);
  }
  set cnssid(v: number) {
    this.setU16(44, v);
  }
  /** Command Set Identifier of Identify (CDW11 bits 31:24). */
  get csi(): number {
    return this.u8(47);
  }
  set csi(v: number) {
    this.setU8(47, v);
  }
  /** UUID Index (CDW14 bits 6:0) of Identify, Get Log Page, Features. */
  get uuidIndex(): number {
    return this.u8(56) & 0x7f;
  }
  set uuidIndex(v: number) {
    this.setU8(56, (this.u8(56) & 0x80) | (v & 0x7f));
  }

  // ---- Get Log Page (§5.16, Figures 198-201) -----------------------------------------------
  /** Log Page Identifier (CDW10 bits 7:0). */
  get lid(): number {
    return this.u8(40);
  }
  set lid(v: number) {
    this.setU8(40, v);
  }
  /** Log Specific Field (CDW10 bits 14:8). */
  get lsp(): number {
    return this.u8(41) & 0x7f;
  }
  set lsp(v: number) {
    this.setU8(41, (this.u8(41) & 0x80) | (v & 0x7f));
  }
  /** Retain Asynchronous Event (CDW10 bit 15). */
  get rae(): boolean {
    return this.bit(41, 7);
  }
  set rae(v: boolean) {
    this.setBit(41, 7, v);
  }
  /** Number of Dwords Lower, 0's based (CDW10 bits 31:16). */
  get numdl(): number {
    return this.u16(42);
  }
  set numdl(v: number) {
    this.setU16(42, v);
  }
  /** Number of Dwords Upper (CDW11 bits 15:0). */
  get numdu(): number {
    return this.u16(44);
  }
  set numdu(v: number) {
    this.setU16(44, v);
  }
  /** NUMDU:NUMDL, 0's based dword count. */
  get numd(): number {
    return this.u16(42) + this.u16(44) * 0x10000;
  }
  set numd(v: number) {
    this.setU16(42, v & 0xffff);
    this.setU16(44, Math.floor(v / 0x10000) & 0xffff);
  }
  /** Bytes Get Log Page asks for: (NUMD + 1) × 4. */
  get logPageLength(): number {
    return (this.numd + 1) * 4;
  }
  set logPageLength(bytes: number) {
    this.numd = Math.ceil(bytes / 4) - 1;
  }
  /** Log Specific Identifier (CDW11 bits 31:16). */
  get lsi(): number {
    return this.u16(46);
  }
  set lsi(v: number) {
    this.setU16(46, v);
  }
  /** Log Page Offset Lower (CDW12). */
  get lpol(): number {
    return this.u32(48);
  }
  set lpol(v: number) {
    this.setU32(48, v);
  }
  /** Log Page Offset Upper (CDW13). */
  get lpou(): number {
    return this.u32(52);
  }
  set lpou(v: number) {
    this.setU32(52, v);
  }
  /** LPOU:LPOL as a byte offset (number; exact below 2^53). */
  get lpo(): number {
    return this.u64(48);
  }
  set lpo(v: number) {
    this.setU64(48, v);
  }
  get lpoBig(): bigint {
    return this.u64Big(48);
  }
  set lpoBig(v: bigint) {
    this.setU64Big(48, v);
  }
  /** Offset Type (CDW14 bit 23): the offset is an index, not bytes. */
  get ot(): boolean {
    return this.bit(58, 7);
  }
  set ot(v: boolean) {
    this.setBit(58, 7, v);
  }
  /** Command Set Identifier of Get Log Page (CDW14 bits 31:24). */
  get logCsi(): number {
    return this.u8(59);
  }
  set logCsi(v: number) {
    this.setU8(59, v);
  }

  // ---- Get / Set Features (§5.15, §5.27) ---------------------------------------------------
  /** Feature Identifier (CDW10 bits 7:0). */
  get fid(): number {
    return this.u8(40);
  }
  set fid(v: number) {
    this.setU8(40, v);
  }
  /** Get Features Select (CDW10 bits 10:8), see `FeatureSelect`. */
  get sel(): number {
    return this.u8(41) & 0x7;
  }
  set sel(v: number) {
    this.setU8(41, (this.u8(41) & ~0x7) | (v & 0x7));
  }
  /** Set Features Save (CDW10 bit 31). */
  get sv(): boolean {
    return this.bit(43, 7);
  }
  set sv(v: boolean) {
    this.setBit(43, 7, v);
  }
}
