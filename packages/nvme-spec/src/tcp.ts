/**
 * NVMe/TCP PDUs (NVMe/TCP Transport Specification 1.0, §3.6; Linux include/linux/nvme-tcp.h,
 * SPDK nvmf_spec.h).
 *
 * Every PDU starts with an 8-byte common header: PDU-type, FLAGS, HLEN, PDO, PLEN (LE32).
 * Wire layout:  header (HLEN) | HDGST (4, if FLAGS.HDGSTF) | pad | DATA (from PDO) | DDGST (4, if
 * FLAGS.DDGSTF). PLEN counts everything. A PDU without data has PDO 0.
 * Digests are CRC32C (Castagnoli), stored little-endian; the caller passes the CRC32C function.
 */
import { CqeView } from './cqe.js';
import { SqeView } from './sqe.js';
import { StructView } from './view.js';

export const PduType = {
  ICReq: 0x00,
  ICResp: 0x01,
  H2CTermReq: 0x02,
  C2HTermReq: 0x03,
  CapsuleCmd: 0x04,
  CapsuleResp: 0x05,
  H2CData: 0x06,
  C2HData: 0x07,
  R2T: 0x09,
} as const;
export type PduType = (typeof PduType)[keyof typeof PduType];

/** The fixed HLEN of each PDU type (NVMe/TCP 1.0 §3.6.2). */
export const TCP_PDU_HEADER_LENGTH: Readonly<Record<PduType, number>> = {
  [PduType.ICReq]: 128,
  [PduType.ICResp]: 128,
  [PduType.H2CTermReq]: 24,
  [PduType.C2HTermReq]: 24,
  [PduType.CapsuleCmd]: 72,
  [PduType.CapsuleResp]: 24,
  [PduType.H2CData]: 24,
  [PduType.C2HData]: 24,
  [PduType.R2T]: 24,
};

/** HLEN for a PDU type, or undefined for an unknown type. */
export function pduHeaderLength(type: number): number | undefined {
  return (TCP_PDU_HEADER_LENGTH as Record<number, number | undefined>)[type];
}

/** Size of the common header. */
export const TCP_COMMON_HEADER_LENGTH = 8;
/** Size of a header or data digest. */
export const TCP_DIGEST_LENGTH = 4;
/** Largest TermReq PDU (header + offending PDU header excerpt): 152 bytes. */
export const TCP_TERM_REQ_MAX_LENGTH = 152;
/** Most error data (the offending PDU's header) a TermReq carries. */
export const TCP_TERM_REQ_MAX_DATA = 128;
/** Well-known NVMe/TCP port for I/O controllers, and for discovery (NVMe/TCP 1.0 §7.4.8). */
export const TCP_PORT = 4420;
export const TCP_DISCOVERY_PORT = 8009;
/** PDU format version in ICReq/ICResp: 1.0 is encoded as 0. */
export const TCP_PFV_1_0 = 0;

/** Common header FLAGS (NVMe/TCP 1.0 Figure 20 and per-PDU flags). */
export const PduFlags = {
  /** Header digest present. */
  HDGSTF: 1 << 0,
  /** Data digest present. */
  DDGSTF: 1 << 1,
  /** H2CData / C2HData: last data PDU of the command's data. */
  LAST_PDU: 1 << 2,
  /** C2HData only: the command succeeded; no CapsuleResp follows (needs LAST_PDU). */
  SUCCESS: 1 << 3,
} as const;

/** ICReq/ICResp DGST byte: which digests the connection uses. */
export const DigestEnable = {
  HDGST: 1 << 0,
  DDGST: 1 << 1,
} as const;

/** Fatal Error Status of H2CTermReq / C2HTermReq (NVMe/TCP 1.0 Figures 27, 30). */
export const TermReqFes = {
  InvalidHeaderField: 0x01,
  PduSequenceError: 0x02,
  HeaderDigestError: 0x03,
  DataTransferOutOfRange: 0x04,
  /** H2CTermReq: R2T limit exceeded; C2HTermReq: data transfer limit exceeded (same value). */
  R2TLimitExceeded: 0x05,
  DataTransferLimitExceeded: 0x05,
  UnsupportedParameter: 0x06,
} as const;
export type TermReqFes = (typeof TermReqFes)[keyof typeof TermReqFes];

/** Whether a PDU type may carry a header digest (everything but ICReq/ICResp/TermReq). */
export function pduTypeHasHeaderDigest(type: number): boolean {
  return type >= PduType.CapsuleCmd && type <= PduType.R2T && type !== 0x08;
}
/** Whether a PDU type may carry data and a data digest (CapsuleCmd, H2CData, C2HData). */
export function pduTypeHasDataDigest(type: number): boolean {
  return type === PduType.CapsuleCmd || type === PduType.H2CData || type === PduType.C2HData;
}

/**
 * PDO for a PDU with data: the header plus its digest, rounded up to the receiver's PDU data
 * alignment `pda` (CPDA or HPDA, in dwords, 0's based → alignment (pda + 1) × 4 bytes).
 */
export function pduDataOffset(hlen: number, hdgst: boolean, pda = 0): number {
  const align = (pda + 1) * 4;
  const end = hlen + (hdgst ? TCP_DIGEST_LENGTH : 0);
  return Math.ceil(end / align) * align;
}

/** PLEN of a PDU carrying `dataLength` bytes (PDO 0 / no data digest when dataLength is 0). */
export function pduLength(hlen: number, hdgst: boolean, ddgst: boolean, dataLength: number, pda = 0): number {
  if (dataLength === 0) return hlen + (hdgst ? TCP_DIGEST_LENGTH : 0);
  return pduDataOffset(hlen, hdgst, pda) + dataLength + (ddgst ? TCP_DIGEST_LENGTH : 0);
}

/** CRC32C with optional running state, e.g. `crc32c` of `@node-rs/crc32`. */
export type Crc32c = (data: Uint8Array, initial?: number) => number;

function wrap(buf: Uint8Array, start: number, end: number): Uint8Array {
  return buf.subarray(start, end);
}
function readLe32(buf: Uint8Array, o: number): number {
  return ((buf[o] ?? 0) | ((buf[o + 1] ?? 0) << 8) | ((buf[o + 2] ?? 0) << 16) | ((buf[o + 3] ?? 0) << 24)) >>> 0;
}
function writeLe32(buf: Uint8Array, o: number, v: number): void {
  buf[o] = v & 0xff;
  buf[o + 1] = (v >>> 8) & 0xff;
  buf[o + 2] = (v >>> 16) & 0xff;
  buf[o + 3] = (v >>> 24) & 0xff;
}

/** CRC32C of the PDU header (bytes [offset, offset + HLEN)), HLEN read from the header. */
export function headerDigest(crc32c: Crc32c, pdu: Uint8Array, offset = 0): number {
  const hlen = pdu[offset + 2] ?? 0;
  return crc32c(wrap(pdu, offset, offset + hlen)) >>> 0;
}
/** Compute and store the header digest right after the header (at offset + HLEN). */
export function writeHeaderDigest(crc32c: Crc32c, pdu: Uint8Array, offset = 0): void {
  const hlen = pdu[offset + 2] ?? 0;
  writeLe32(pdu, offset + hlen, headerDigest(crc32c, pdu, offset));
}
/** True when the stored header digest matches (needs HLEN + 4 bytes). */
export function verifyHeaderDigest(crc32c: Crc32c, pdu: Uint8Array, offset = 0): boolean {
  const hlen = pdu[offset + 2] ?? 0;
  if (offset + hlen + 4 > pdu.byteLength) return false;
  return readLe32(pdu, offset + hlen) === headerDigest(crc32c, pdu, offset);
}
/** Read a stored digest (little-endian) at `at`. */
export function readDigest(buf: Uint8Array, at: number): number {
  return readLe32(buf, at);
}
/** Store a digest (little-endian) at `at`. */
export function writeDigest(buf: Uint8Array, at: number, digest: number): void {
  writeLe32(buf, at, digest);
}

/** CRC32C over PDU data that may be split in several pieces (in order). */
export function dataDigest(crc32c: Crc32c, data: Uint8Array | readonly Uint8Array[]): number {
  if (data instanceof Uint8Array) return crc32c(data) >>> 0;
  let crc = 0;
  for (const d of data) crc = crc32c(d, crc);
  return crc >>> 0;
}
/**
 * For a whole PDU in one buffer with DDGSTF set: compute the data digest over [PDO, PLEN - 4)
 * and store it at PLEN - 4.
 */
export function writeDataDigest(crc32c: Crc32c, pdu: Uint8Array, offset = 0): void {
  const pdo = pdu[offset + 3] ?? 0;
  const plen = readLe32(pdu, offset + 4);
  writeLe32(pdu, offset + plen - 4, crc32c(wrap(pdu, offset + pdo, offset + plen - 4)) >>> 0);
}
/** Check the data digest of a whole PDU in one buffer. */
export function verifyDataDigest(crc32c: Crc32c, pdu: Uint8Array, offset = 0): boolean {
  const pdo = pdu[offset + 3] ?? 0;
  const plen = readLe32(pdu, offset + 4);
  if (pdo === 0 || plen < pdo + 4 || offset + plen > pdu.byteLength) return false;
  return readLe32(pdu, offset + plen - 4) === crc32c(wrap(pdu, offset + pdo, offset + plen - 4)) >>> 0;
}

/** Where the parts of a PDU sit, from its common header and the connection's digest settings. */
export interface PduLayout {
  type: number;
  hlen: number;
  /** Offset of the header digest from the PDU start, or -1. */
  hdgstOffset: number;
  /** Offset of the data (PDO), or -1 when the PDU carries no data. */
  dataOffset: number;
  dataLength: number;
  /** Offset of the data digest, or -1. */
  ddgstOffset: number;
  plen: number;
}

/** A header check failure: the FES/FEI to put in a TermReq and a message for logs. */
export interface PduHeaderProblem {
  fes: TermReqFes;
  /** Fatal error information: byte offset of the bad field in the header (for FES 1). */
  fei: number;
  message: string;
}

export interface PduHeaderCheckOptions {
  /** Header digests negotiated on this connection (ignored for ICReq/ICResp/TermReq). */
  hdgst: boolean;
  /** Data digests negotiated. */
  ddgst: boolean;
  /** Data alignment this side asked for (CPDA for a target receiving, HPDA for a host); 0 = none checked. */
  pda?: number;
  /** Largest data a PDU may carry (e.g. MAXH2CDATA, in-capsule size); checked when given. */
  maxDataLength?: number;
}

/**
 * Check the 8-byte common header at `offset` against the rules of NVMe/TCP 1.0 §3.6.2 and the
 * negotiated digests. Returns the layout, or the problem to report in a TermReq. Never throws
 * for bytes received from a peer (needs 8 bytes, else reports an invalid header). Pass `out`
 * (a reused object) to have the layout written there instead of allocated: the hot path then
 * allocates only when a peer misbehaves.
 */
export function checkPduHeader(buf: Uint8Array, offset: number, opts: PduHeaderCheckOptions, out?: PduLayout): PduLayout | PduHeaderProblem {
  if (offset < 0 || offset + 8 > buf.byteLength) {
    return { fes: TermReqFes.InvalidHeaderField, fei: 0, message: 'common header truncated' };
  }
  const type = buf[offset] ?? 0;
  const flags = buf[offset + 1] ?? 0;
  const hlen = buf[offset + 2] ?? 0;
  const pdo = buf[offset + 3] ?? 0;
  const plen = readLe32(buf, offset + 4);
  const expectedHlen = pduHeaderLength(type);
  if (expectedHlen === undefined) return { fes: TermReqFes.InvalidHeaderField, fei: 0, message: `unknown PDU type 0x${type.toString(16)}` };
  if (hlen !== expectedHlen) return { fes: TermReqFes.InvalidHeaderField, fei: 2, message: `HLEN ${hlen} for PDU type ${type}, expected ${expectedHlen}` };
  const hasH = pduTypeHasHeaderDigest(type) && opts.hdgst;
  const hasD = pduTypeHasDataDigest(type) && opts.ddgst;
  // The flags must match what was negotiated (Linux fails the connection otherwise).
  if (pduTypeHasHeaderDigest(type) && ((flags & PduFlags.HDGSTF) !== 0) !== hasH) {
    return { fes: TermReqFes.InvalidHeaderField, fei: 1, message: 'HDGSTF does not match the negotiated header digest' };
  }
  const headerEnd = hlen + (hasH ? 4 : 0);
  if (plen < headerEnd) return { fes: TermReqFes.InvalidHeaderField, fei: 4, message: `PLEN ${plen} shorter than header ${headerEnd}` };
  const isTerm = type === PduType.H2CTermReq || type === PduType.C2HTermReq;
  if (isTerm) {
    if (plen > TCP_TERM_REQ_MAX_LENGTH) return { fes: TermReqFes.InvalidHeaderField, fei: 4, message: `TermReq PLEN ${plen} above 152` };
    return layout(out, type, hlen, -1, plen > hlen ? hlen : -1, plen - hlen, -1, plen);
  }
  if (plen === headerEnd) {
    if (pdo !== 0 && pdo !== headerEnd) return { fes: TermReqFes.InvalidHeaderField, fei: 3, message: `PDO ${pdo} on a PDU without data` };
    return layout(out, type, hlen, hasH ? hlen : -1, -1, 0, -1, plen);
  }
  if (!pduTypeHasDataDigest(type)) return { fes: TermReqFes.InvalidHeaderField, fei: 4, message: `PLEN ${plen} too long for PDU type ${type}` };
  if ((flags & PduFlags.DDGSTF) !== 0 !== hasD) return { fes: TermReqFes.InvalidHeaderField, fei: 1, message: 'DDGSTF does not match the negotiated data digest' };
  // With PDA 0 any PDO past the header is taken (as SPDK does); otherwise it must be aligned.
  const pda = opts.pda ?? 0;
  const align = (pda + 1) * 4;
  if (pdo < headerEnd || (pda > 0 && pdo % align !== 0)) return { fes: TermReqFes.InvalidHeaderField, fei: 3, message: `PDO ${pdo} (header ends at ${headerEnd}, alignment ${align})` };
  const dataLength = plen - pdo - (hasD ? 4 : 0);
  if (dataLength <= 0) return { fes: TermReqFes.InvalidHeaderField, fei: 4, message: `PLEN ${plen} leaves no data after PDO ${pdo}` };
  if (opts.maxDataLength !== undefined && dataLength > opts.maxDataLength) {
    return { fes: TermReqFes.DataTransferLimitExceeded, fei: 4, message: `PDU data ${dataLength} above ${opts.maxDataLength}` };
  }
  return layout(out, type, hlen, hasH ? hlen : -1, pdo, dataLength, hasD ? plen - 4 : -1, plen);
}

function layout(out: PduLayout | undefined, type: number, hlen: number, hdgstOffset: number, dataOffset: number, dataLength: number, ddgstOffset: number, plen: number): PduLayout {
  if (out === undefined) return { type, hlen, hdgstOffset, dataOffset, dataLength, ddgstOffset, plen };
  out.type = type;
  out.hlen = hlen;
  out.hdgstOffset = hdgstOffset;
  out.dataOffset = dataOffset;
  out.dataLength = dataLength;
  out.ddgstOffset = ddgstOffset;
  out.plen = plen;
  return out;
}

/** A fresh `PduLayout` to pass to `checkPduHeader` as `out`. */
export function newPduLayout(): PduLayout {
  return { type: 0, hlen: 0, hdgstOffset: -1, dataOffset: -1, dataLength: 0, ddgstOffset: -1, plen: 0 };
}

/** Narrow the result of `checkPduHeader`. */
export function isPduHeaderProblem(r: PduLayout | PduHeaderProblem): r is PduHeaderProblem {
  return 'fes' in r;
}

/**
 * Check an ICReq's fields a controller must validate (NVMe/TCP 1.0 §3.6.2.2): PFV 0 and HPDA
 * at most 31. Header fields are `checkPduHeader`'s job. Returns the TermReq to send, if any.
 */
export function checkIcReq(req: IcReqView): PduHeaderProblem | undefined {
  if (req.pfv !== TCP_PFV_1_0) return { fes: TermReqFes.UnsupportedParameter, fei: 8, message: `PFV ${req.pfv} not supported` };
  if (req.hpda > 31) return { fes: TermReqFes.UnsupportedParameter, fei: 10, message: `HPDA ${req.hpda} above 31` };
  return undefined;
}

/**
 * Check an ICResp the way the Linux host does (drivers/nvme/host/tcp.c): PFV 0, CPDA at most 31,
 * digests equal to those requested, MAXH2CDATA at least 4096 and a multiple of 4.
 */
export function checkIcResp(resp: IcRespView, requested: { hdgst: boolean; ddgst: boolean }): PduHeaderProblem | undefined {
  if (resp.pfv !== TCP_PFV_1_0) return { fes: TermReqFes.UnsupportedParameter, fei: 8, message: `PFV ${resp.pfv} not supported` };
  if (resp.cpda > 31) return { fes: TermReqFes.UnsupportedParameter, fei: 10, message: `CPDA ${resp.cpda} above 31` };
  if (resp.hdgstEnable !== requested.hdgst || resp.ddgstEnable !== requested.ddgst) {
    return { fes: TermReqFes.UnsupportedParameter, fei: 11, message: `digests 0x${resp.dgst.toString(16)} differ from the ones requested` };
  }
  const m = resp.maxh2cdata;
  if (m < 4096 || m % 4 !== 0) return { fes: TermReqFes.UnsupportedParameter, fei: 12, message: `MAXH2CDATA ${m} below 4096 or not a multiple of 4` };
  return undefined;
}

/** The 8-byte common header, and the base of every PDU view. */
export class PduHeaderView extends StructView {
  static readonly SIZE: number = 8;
  get byteLength(): number {
    return PduHeaderView.SIZE;
  }
  get pduType(): number {
    return this.u8(0);
  }
  set pduType(v: number) {
    this.setU8(0, v);
  }
  get flags(): number {
    return this.u8(1);
  }
  set flags(v: number) {
    this.setU8(1, v);
  }
  get hlen(): number {
    return this.u8(2);
  }
  set hlen(v: number) {
    this.setU8(2, v);
  }
  get pdo(): number {
    return this.u8(3);
  }
  set pdo(v: number) {
    this.setU8(3, v);
  }
  get plen(): number {
    return this.u32(4);
  }
  set plen(v: number) {
    this.setU32(4, v);
  }
  get hdgstf(): boolean {
    return (this.u8(1) & PduFlags.HDGSTF) !== 0;
  }
  get ddgstf(): boolean {
    return (this.u8(1) & PduFlags.DDGSTF) !== 0;
  }
  /**
   * Bytes of data this PDU carries, from its header: PLEN - PDO - data digest; 0 without data.
   * TermReq PDUs (PDO 0) carry PLEN - HLEN bytes of error data after the header.
   */
  get dataLength(): number {
    const plen = this.u32(4);
    const type = this.u8(0);
    if (type === PduType.H2CTermReq || type === PduType.C2HTermReq) return Math.max(0, plen - this.u8(2));
    const pdo = this.u8(3);
    if (pdo === 0) return 0;
    return Math.max(0, plen - pdo - ((this.u8(1) & PduFlags.DDGSTF) !== 0 ? TCP_DIGEST_LENGTH : 0));
  }
  /** Offset of the data from the PDU start (PDO, or HLEN for TermReq error data). */
  get dataOffset(): number {
    const type = this.u8(0);
    return type === PduType.H2CTermReq || type === PduType.C2HTermReq ? this.u8(2) : this.u8(3);
  }
  /**
   * Fill the common header for a PDU of `type` with `dataLength` bytes of data, setting HDGSTF /
   * DDGSTF, PDO and PLEN; `extraFlags` adds type specific flags (LAST_PDU, SUCCESS).
   */
  setHeader(type: number, hdgst: boolean, ddgst: boolean, dataLength: number, pda = 0, extraFlags = 0): this {
    const hlen = pduHeaderLength(type) ?? 8;
    const hasH = hdgst && pduTypeHasHeaderDigest(type);
    const hasD = ddgst && dataLength > 0 && pduTypeHasDataDigest(type);
    this.setU8(0, type);
    this.setU8(1, (hasH ? PduFlags.HDGSTF : 0) | (hasD ? PduFlags.DDGSTF : 0) | extraFlags);
    this.setU8(2, hlen);
    this.setU8(3, dataLength > 0 ? pduDataOffset(hlen, hasH, pda) : 0);
    this.setU32(4, pduLength(hlen, hasH, hasD, dataLength, pda));
    return this;
  }
}

/**
 * What ICReq and ICResp share (NVMe/TCP 1.0 Figures 26-27): 128 bytes, no digests; PFV at
 * bytes 9:8, the PDU data alignment at byte 10 (HPDA or CPDA), DGST at byte 11.
 */
abstract class IcPduView extends PduHeaderView {
  static override readonly SIZE = 128;
  override get byteLength(): number {
    return IcPduView.SIZE;
  }
  /** Zero the PDU and fill the header (HLEN 128, PDO 0, PLEN 128). */
  protected initAs(type: typeof PduType.ICReq | typeof PduType.ICResp): this {
    this.clear();
    this.setHeader(type, false, false, 0);
    return this;
  }
  /** PDU format version (bytes 9:8), 0 for 1.0. */
  get pfv(): number {
    return this.u16(8);
  }
  set pfv(v: number) {
    this.setU16(8, v);
  }
  /** Digest types enabled (byte 11), see `DigestEnable`. */
  get dgst(): number {
    return this.u8(11);
  }
  set dgst(v: number) {
    this.setU8(11, v);
  }
  get hdgstEnable(): boolean {
    return this.bit(11, 0);
  }
  set hdgstEnable(v: boolean) {
    this.setBit(11, 0, v);
  }
  get ddgstEnable(): boolean {
    return this.bit(11, 1);
  }
  set ddgstEnable(v: boolean) {
    this.setBit(11, 1, v);
  }
}

/** ICReq (NVMe/TCP 1.0 Figure 26): 128 bytes, no digests. */
export class IcReqView extends IcPduView {
  /** Zero the PDU and fill the header (type 0, HLEN 128, PDO 0, PLEN 128). */
  init(): this {
    return this.initAs(PduType.ICReq);
  }
  /** Host PDU data alignment, dwords, 0's based (byte 10). */
  get hpda(): number {
    return this.u8(10);
  }
  set hpda(v: number) {
    this.setU8(10, v);
  }
  /** Maximum outstanding R2Ts per command, 0's based (bytes 15:12). */
  get maxr2t(): number {
    return this.u32(12);
  }
  set maxr2t(v: number) {
    this.setU32(12, v);
  }
}

/** ICResp (NVMe/TCP 1.0 Figure 27): 128 bytes, no digests. */
export class IcRespView extends IcPduView {
  /** Zero the PDU and fill the header (type 1, HLEN 128, PDO 0, PLEN 128). */
  init(): this {
    return this.initAs(PduType.ICResp);
  }
  /** Controller PDU data alignment, dwords, 0's based (byte 10). Linux needs 0. */
  get cpda(): number {
    return this.u8(10);
  }
  set cpda(v: number) {
    this.setU8(10, v);
  }
  /** Maximum H2CData PDU data length in bytes (bytes 15:12); Linux needs >= 4096, multiple of 4. */
  get maxh2cdata(): number {
    return this.u32(12);
  }
  set maxh2cdata(v: number) {
    this.setU32(12, v);
  }
}

/** H2CTermReq / C2HTermReq header (NVMe/TCP 1.0 Figures 28-31): 24 bytes, then error data. */
export class TermReqView extends PduHeaderView {
  static override readonly SIZE = 24;
  override get byteLength(): number {
    return TermReqView.SIZE;
  }
  /**
   * Fill a TermReq header of `type` (H2C or C2H) carrying `dataLength` bytes of error data: the
   * header of the PDU in error, at most 128 bytes, right after this header. PDO stays 0 (as SPDK
   * sends it); SPDK's target rejects an H2CTermReq without error data, so include it.
   */
  init(type: typeof PduType.H2CTermReq | typeof PduType.C2HTermReq, fes: number, fei: number, dataLength = 0): this {
    this.clear();
    this.setU8(0, type);
    this.setU8(2, 24);
    this.setU8(3, 0);
    this.setU32(4, 24 + dataLength);
    this.fes = fes;
    this.fei = fei;
    return this;
  }
  /** Fatal error status (bytes 9:8), see `TermReqFes`. */
  get fes(): number {
    return this.u16(8);
  }
  set fes(v: number) {
    this.setU16(8, v);
  }
  /** Fatal error information (bytes 13:10): offset of the bad field, or the digest found. */
  get fei(): number {
    return this.u32(10);
  }
  set fei(v: number) {
    this.setU32(10, v);
  }
}

/** CapsuleCmd (NVMe/TCP 1.0 Figure 32): header + 64-byte SQE; in-capsule data from PDO. */
export class CapsuleCmdView extends PduHeaderView {
  static override readonly SIZE = 72;
  override get byteLength(): number {
    return CapsuleCmdView.SIZE;
  }
  private sqeView: SqeView | undefined;
  /** The SQE at byte 8 (a view created once and re-attached on later calls). */
  get sqe(): SqeView {
    if (this.sqeView === undefined) this.sqeView = new SqeView(this.buf, this.offset + 8);
    else if (this.sqeView.buf !== this.buf || this.sqeView.offset !== this.offset + 8) this.sqeView.attach(this.buf, this.offset + 8);
    return this.sqeView;
  }
  /** Fill the header for a command with `dataLength` bytes in-capsule. Leaves the SQE alone. */
  init(hdgst: boolean, ddgst: boolean, dataLength = 0, cpda = 0): this {
    return this.setHeader(PduType.CapsuleCmd, hdgst, ddgst, dataLength, cpda);
  }
}

/** CapsuleResp (NVMe/TCP 1.0 Figure 33): header + 16-byte CQE. */
export class CapsuleRespView extends PduHeaderView {
  static override readonly SIZE = 24;
  override get byteLength(): number {
    return CapsuleRespView.SIZE;
  }
  private cqeView: CqeView | undefined;
  /** The CQE at byte 8 (a view created once and re-attached on later calls). */
  get cqe(): CqeView {
    if (this.cqeView === undefined) this.cqeView = new CqeView(this.buf, this.offset + 8);
    else if (this.cqeView.buf !== this.buf || this.cqeView.offset !== this.offset + 8) this.cqeView.attach(this.buf, this.offset + 8);
    return this.cqeView;
  }
  init(hdgst: boolean): this {
    return this.setHeader(PduType.CapsuleResp, hdgst, false, 0);
  }
}

/** H2CData (NVMe/TCP 1.0 Figure 34) and the base of C2HData: 24-byte header. */
export class H2CDataView extends PduHeaderView {
  static override readonly SIZE = 24;
  override get byteLength(): number {
    return H2CDataView.SIZE;
  }
  /** Fill the header for `dataLength` bytes (LAST_PDU when `last`). Fields below stay as they are. */
  init(hdgst: boolean, ddgst: boolean, dataLength: number, last: boolean, pda = 0): this {
    return this.setHeader(PduType.H2CData, hdgst, ddgst, dataLength, pda, last ? PduFlags.LAST_PDU : 0);
  }
  /** Command capsule CID (bytes 9:8). */
  get cccid(): number {
    return this.u16(8);
  }
  set cccid(v: number) {
    this.setU16(8, v);
  }
  /** Transfer tag from the R2T (bytes 11:10); reserved in C2HData. */
  get ttag(): number {
    return this.u16(10);
  }
  set ttag(v: number) {
    this.setU16(10, v);
  }
  /** Data offset from the start of the command's data (bytes 15:12). */
  get datao(): number {
    return this.u32(12);
  }
  set datao(v: number) {
    this.setU32(12, v);
  }
  /** Data length of this PDU (bytes 19:16). */
  get datal(): number {
    return this.u32(16);
  }
  set datal(v: number) {
    this.setU32(16, v);
  }
  get lastPdu(): boolean {
    return (this.u8(1) & PduFlags.LAST_PDU) !== 0;
  }
  set lastPdu(v: boolean) {
    this.setBit(1, 2, v);
  }
}

/** C2HData (NVMe/TCP 1.0 Figure 35): as H2CData, plus the SUCCESS flag; TTAG is reserved. */
export class C2HDataView extends H2CDataView {
  /** Fill the header; `success` sets SUCCESS (and requires `last`, NVMe/TCP 1.0 §3.6.2.8). */
  override init(hdgst: boolean, ddgst: boolean, dataLength: number, last: boolean, pda = 0, success = false): this {
    return this.setHeader(
      PduType.C2HData,
      hdgst,
      ddgst,
      dataLength,
      pda,
      (last ? PduFlags.LAST_PDU : 0) | (success ? PduFlags.SUCCESS : 0),
    );
  }
  get success(): boolean {
    return (this.u8(1) & PduFlags.SUCCESS) !== 0;
  }
  set success(v: boolean) {
    this.setBit(1, 3, v);
  }
}

/** R2T (NVMe/TCP 1.0 Figure 36): 24 bytes, no data. */
export class R2TView extends PduHeaderView {
  static override readonly SIZE = 24;
  override get byteLength(): number {
    return R2TView.SIZE;
  }
  init(hdgst: boolean): this {
    return this.setHeader(PduType.R2T, hdgst, false, 0);
  }
  get cccid(): number {
    return this.u16(8);
  }
  set cccid(v: number) {
    this.setU16(8, v);
  }
  get ttag(): number {
    return this.u16(10);
  }
  set ttag(v: number) {
    this.setU16(10, v);
  }
  /** R2T offset into the command's data (bytes 15:12). */
  get r2to(): number {
    return this.u32(12);
  }
  set r2to(v: number) {
    this.setU32(12, v);
  }
  /** R2T length (bytes 19:16). */
  get r2tl(): number {
    return this.u32(16);
  }
  set r2tl(v: number) {
    this.setU32(16, v);
  }
}
