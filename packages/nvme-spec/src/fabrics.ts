/**
 * NVMe over Fabrics commands (NVMe-oF 1.1 §3.3 / NVMe Base 2.0 §6): Connect, Property Get/Set,
 * Disconnect, Authentication Send/Receive. All share SQE bytes 0-4: opcode 0x7f, CID, FCTYPE.
 */
import { CQE_SIZE, CqeView } from './cqe.js';
import { Sgls } from './identify.js';
import { FABRICS_OPCODE, FabricsCommandType } from './opcodes.js';
import { SQE_SIZE, SqeView } from './sqe.js';
import { StructView } from './view.js';

/** Queue attributes CATTR (Connect SQE byte 46, NVMe Base 2.0 Figure 380). */
export const ConnectAttr = {
  /** Priority class mask, bits 1:0 (urgent/high/medium/low for weighted round robin). */
  PRIORITY_CLASS_MASK: 0x3,
  /** SQ flow control disable (bit 2): the host tolerates SQHD not being reported. */
  SQ_FLOW_CONTROL_DISABLE: 1 << 2,
  /** I/O queue with individual I/O queue elements (bit 3). */
  INDIVIDUAL_IO_QUEUE_ELEMENTS: 1 << 3,
} as const;

/** Record format of Connect (and Disconnect) — only 0 is defined. */
export const CONNECT_RECFMT = 0;

/** Dynamic controller model: a Connect on the admin queue asks for any cntlid with 0xFFFF. */
export const CNTLID_DYNAMIC = 0xffff;
/** Static controller model: any controller (NVMe-oF 1.1 §3.3.1). */
export const CNTLID_STATIC_ANY = 0xfffe;

/** Connect command (NVMe-oF 1.1 Figure 20). Data is a 1024-byte ConnectData in/after the capsule. */
export class ConnectCommandView extends SqeView {
  /** Fill opcode/fctype/cid and zero the rest (SGL1 is left for the transport). */
  init(cid: number): this {
    this.clear();
    this.opcode = FABRICS_OPCODE;
    this.fctype = FabricsCommandType.Connect;
    this.cid = cid;
    return this;
  }
  /** Record format (bytes 41:40). */
  get recfmt(): number {
    return this.u16(40);
  }
  set recfmt(v: number) {
    this.setU16(40, v);
  }
  /** Queue ID: 0 for the admin queue (bytes 43:42). */
  get qid(): number {
    return this.u16(42);
  }
  set qid(v: number) {
    this.setU16(42, v);
  }
  /** Submission queue size, 0's based (bytes 45:44). */
  get sqsize(): number {
    return this.u16(44);
  }
  set sqsize(v: number) {
    this.setU16(44, v);
  }
  /** Connect attributes (byte 46), see `ConnectAttr`. */
  get cattr(): number {
    return this.u8(46);
  }
  set cattr(v: number) {
    this.setU8(46, v);
  }
  /** Keep alive timeout in ms, admin queue only (bytes 51:48). */
  get kato(): number {
    return this.u32(48);
  }
  set kato(v: number) {
    this.setU32(48, v);
  }
}

/** Connect data (NVMe-oF 1.1 Figure 21): 1024 bytes. */
export class ConnectDataView extends StructView {
  static readonly SIZE = 1024;
  get byteLength(): number {
    return ConnectDataView.SIZE;
  }
  /** Host Identifier, 16 bytes (bytes 15:00); a copy. */
  get hostid(): Uint8Array {
    return this.raw(0, 16);
  }
  set hostid(v: Uint8Array) {
    this.setRaw(0, 16, v);
  }
  /** Controller ID (bytes 17:16): 0xFFFF asks for a dynamic controller. */
  get cntlid(): number {
    return this.u16(16);
  }
  set cntlid(v: number) {
    this.setU16(16, v);
  }
  /** Subsystem NQN (bytes 511:256), NUL padded. */
  get subnqn(): string {
    return this.str(256, 256);
  }
  set subnqn(v: string) {
    this.setStr(256, 256, v, 'nul');
  }
  /** Host NQN (bytes 767:512), NUL padded. */
  get hostnqn(): string {
    return this.str(512, 256);
  }
  set hostnqn(v: string) {
    this.setStr(512, 256, v, 'nul');
  }
}

/** Connect response CQE (NVMe-oF 1.1 Figure 22): DW0 is cntlid/authreq, or IPO/IATTR on error. */
export class ConnectResponseView extends CqeView {
  /** Controller ID assigned (DW0 bits 15:0) on success. */
  get cntlid(): number {
    return this.u16(0);
  }
  set cntlid(v: number) {
    this.setU16(0, v);
  }
  /** Authentication requirements (DW0 bits 31:16): bit 1 ATR, bit 2 ASCR. */
  get authreq(): number {
    return this.u16(2);
  }
  set authreq(v: number) {
    this.setU16(2, v);
  }
  /** Invalid parameter offset (DW0 bits 15:0) for status ConnectInvalidParameters. */
  get ipo(): number {
    return this.u16(0);
  }
  set ipo(v: number) {
    this.setU16(0, v);
  }
  /** Invalid attribute (DW0 byte 2): 0 = the offset is in the SQE, 1 = in the Connect data. */
  get iattr(): number {
    return this.u8(2);
  }
  set iattr(v: number) {
    this.setU8(2, v);
  }
}

/** Connect error DW0 helper: which byte of the SQE (iattr 0) or data (iattr 1) was invalid. */
export function connectInvalidParam(iattr: 0 | 1, ipo: number): number {
  return ((iattr << 16) | (ipo & 0xffff)) >>> 0;
}

/** Byte offsets named by a Connect's IPO for common invalid fields. */
export const ConnectInvalidOffset = {
  /** In the SQE (iattr 0). */
  qid: 42,
  sqsize: 44,
  cattr: 46,
  kato: 48,
  /** In the data (iattr 1). */
  cntlid: 16,
  subnqn: 256,
  hostnqn: 512,
} as const;

/** Property size attribute (ATTRIB bits 2:0): 0 = 4 bytes, 1 = 8 bytes. */
export const PropertySize = {
  Four: 0,
  Eight: 1,
} as const;
export type PropertySize = (typeof PropertySize)[keyof typeof PropertySize];

/** Property Get command (NVMe-oF 1.1 Figure 26); the value returns in CQE DW1:DW0. */
export class PropertyGetCommandView extends SqeView {
  init(cid: number, ofst: number, size8: boolean): this {
    this.clear();
    this.opcode = FABRICS_OPCODE;
    this.fctype = FabricsCommandType.PropertyGet;
    this.cid = cid;
    this.attrib = size8 ? PropertySize.Eight : PropertySize.Four;
    this.ofst = ofst;
    return this;
  }
  /** Attributes byte (40); size in bits 2:0. */
  get attrib(): number {
    return this.u8(40);
  }
  set attrib(v: number) {
    this.setU8(40, v);
  }
  /** Property size in bytes (4 or 8) from ATTRIB. */
  get size(): 4 | 8 {
    return (this.u8(40) & 0x7) === PropertySize.Eight ? 8 : 4;
  }
  /** Property offset (bytes 47:44). */
  get ofst(): number {
    return this.u32(44);
  }
  set ofst(v: number) {
    this.setU32(44, v);
  }
}

/** Property Set command (NVMe-oF 1.1 Figure 28): value in bytes 55:48. */
export class PropertySetCommandView extends PropertyGetCommandView {
  override init(cid: number, ofst: number, size8: boolean): this {
    super.init(cid, ofst, size8);
    this.fctype = FabricsCommandType.PropertySet;
    return this;
  }
  /** Value as a number (exact below 2^53). */
  get value(): number {
    return this.u64(48);
  }
  set value(v: number) {
    this.setU64(48, v);
  }
  get valueBig(): bigint {
    return this.u64Big(48);
  }
  set valueBig(v: bigint) {
    this.setU64Big(48, v);
  }
}

/** Disconnect command (NVMe Base 2.0 §6.4): deletes the I/O queue it arrives on. */
export class DisconnectCommandView extends SqeView {
  init(cid: number): this {
    this.clear();
    this.opcode = FABRICS_OPCODE;
    this.fctype = FabricsCommandType.Disconnect;
    this.cid = cid;
    return this;
  }
  /** Record format (bytes 41:40), 0. */
  get recfmt(): number {
    return this.u16(40);
  }
  set recfmt(v: number) {
    this.setU16(40, v);
  }
}

/** Authentication Send / Receive (NVMe Base 2.0 §6.2-6.3): security protocol fields. */
export class AuthenticationCommandView extends SqeView {
  /** Security Protocol Specific 0 (byte 41). */
  get spsp0(): number {
    return this.u8(41);
  }
  set spsp0(v: number) {
    this.setU8(41, v);
  }
  /** Security Protocol Specific 1 (byte 42). */
  get spsp1(): number {
    return this.u8(42);
  }
  set spsp1(v: number) {
    this.setU8(42, v);
  }
  /** Security Protocol (byte 43); 0xE9 for NVMe in-band authentication. */
  get secp(): number {
    return this.u8(43);
  }
  set secp(v: number) {
    this.setU8(43, v);
  }
  /** Transfer length (Send, bytes 47:44) or allocation length (Receive). */
  get length(): number {
    return this.u32(44);
  }
  set length(v: number) {
    this.setU32(44, v);
  }
}

/** The fabrics fields of Identify Controller (bytes 1803:1792, and SGLS bits a transport sets). */
export interface FabricsIdentifyFields {
  /** I/O Queue Command Capsule Supported Size, in 16-byte units; at least 4 (64-byte SQE). */
  readonly ioccsz: number;
  /** I/O Queue Response Capsule Supported Size, in 16-byte units; at least 1 (16-byte CQE). */
  readonly iorcsz: number;
  /** In Capsule Data Offset, in 16-byte units; must be 0 for the Linux host. */
  readonly icdoff: number;
  /**
   * SGL Support dword bits the transport contributes (Identify bytes 539:536): e.g. bit 2 keyed
   * SGL Data Block (RDMA), bit 20 Address/Offset (in-capsule data as offsets). The core ORs in
   * bits 1:0 = 01b (SGLs supported) itself.
   */
  readonly sgls: number;
  /** Maximum SGL Data Block Descriptors per command (0 = no limit reported; Linux wants >= 1). */
  readonly msdbd: number;
  /** Fabrics Controller Attributes (bit 0: dynamic controller model only when 0). */
  readonly fcatt: number;
}

/**
 * Identify's fabrics fields for a message-based transport that carries up to
 * `inCapsuleDataSize` bytes of in-capsule data and describes it with an SGL Data Block of
 * subtype Offset (NVMe-oF 1.1 §4.1; NVMe/TCP 1.0 §3.3): IOCCSZ counts the 64-byte SQE in 16-byte
 * units, IORCSZ 1 (a bare 16-byte CQE), ICDOFF 0 (the Linux host refuses anything else), SGLS
 * Address-as-Offset, one SGL Data Block descriptor per command, dynamic controllers only.
 */
export function inCapsuleIdentifyFields(inCapsuleDataSize: number): FabricsIdentifyFields {
  return {
    ioccsz: (SQE_SIZE + inCapsuleDataSize) / 16,
    iorcsz: CQE_SIZE / 16,
    icdoff: 0,
    sgls: Sgls.AddressAsOffset,
    msdbd: 1,
    fcatt: 0,
  };
}
