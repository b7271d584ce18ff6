/**
 * The NVMe/TCP numbers this transport writes and checks on the wire, under the short names its
 * hot paths use. Every value is @nvmu/nvme-spec's (the one home of the layout: NVMe/TCP 1.0
 * §3.6.2, Figures 17-36); this file only names them for the transport. Everything is
 * little-endian.
 *
 * The transport writes headers straight into preallocated per-request Buffers and reads received
 * headers from one per-connection header Buffer, so nothing here allocates.
 */
import {
  PduField,
  PduType,
  Psdt,
  SglDescriptorType,
  SglSubtype,
  SqeField,
  TCP_COMMON_HEADER_LENGTH,
  TCP_DIGEST_LENGTH,
  TCP_MIN_MAXH2CDATA,
  TCP_PDU_HEADER_LENGTH,
  TCP_PFV_1_0,
  TCP_TERM_REQ_MAX_DATA,
  sglIdentifier,
} from '@nvmu/nvme-spec';

// PDU types, flags, FES values and digest bits (NVMe/TCP 1.0 §3.6).
export { PduType, PduFlags, TermReqFes, DigestEnable, GenericStatus } from '@nvmu/nvme-spec';

/** Fixed header lengths (HLEN) per PDU type. */
export const ICREQ_LEN = TCP_PDU_HEADER_LENGTH[PduType.ICReq];
export const ICRESP_LEN = TCP_PDU_HEADER_LENGTH[PduType.ICResp];
export const COMMON_HDR_LEN: number = TCP_COMMON_HEADER_LENGTH;
export const CAPSULE_CMD_HLEN = TCP_PDU_HEADER_LENGTH[PduType.CapsuleCmd]; // 8 + 64-byte SQE
export const CAPSULE_RESP_HLEN = TCP_PDU_HEADER_LENGTH[PduType.CapsuleResp]; // 8 + 16-byte CQE
export const DATA_HLEN = TCP_PDU_HEADER_LENGTH[PduType.C2HData]; // H2CData and C2HData
export const R2T_HLEN = TCP_PDU_HEADER_LENGTH[PduType.R2T];
export const TERM_REQ_HLEN = TCP_PDU_HEADER_LENGTH[PduType.C2HTermReq];
/** A TermReq carries at most the 128 bytes of the offending PDU header. */
export const TERM_REQ_MAX_DATA = TCP_TERM_REQ_MAX_DATA;
export const DIGEST_LEN = TCP_DIGEST_LENGTH;
/** The longest header any PDU type has (ICReq/ICResp), plus a header digest. */
export const MAX_HDR_LEN = ICREQ_LEN + DIGEST_LEN;

/** Protocol format version 1.0 (PFV 0). */
export const PFV_1_0 = TCP_PFV_1_0;

/** Minimum MAXH2CDATA a controller may advertise (Linux checks it). */
export const MIN_MAXH2CDATA = TCP_MIN_MAXH2CDATA;

/** The admin queue's in-capsule data size the Linux host assumes (nvme-tcp.h NVME_TCP_ADMIN_CCSZ). */
export const ADMIN_IN_CAPSULE = 8192;

/** Common header field offsets. */
export const CH_TYPE = PduField.TYPE;
export const CH_FLAGS = PduField.FLAGS;
export const CH_HLEN = PduField.HLEN;
export const CH_PDO = PduField.PDO;
export const CH_PLEN = PduField.PLEN;

/** ICReq/ICResp fields. */
export const IC_PFV = PduField.IC_PFV;
/** ICReq: HPDA; ICResp: CPDA. */
export const IC_PDA = PduField.IC_PDA;
export const IC_DGST = PduField.IC_DGST;
/** ICReq: MAXR2T (0's based); ICResp: MAXH2CDATA. */
export const IC_MAX = PduField.IC_MAX;

/** H2CData / C2HData / R2T fields. */
export const D_CCCID = PduField.CCCID;
export const D_TTAG = PduField.TTAG;
/** DATAO for data PDUs, R2TO for R2T. */
export const D_OFFSET = PduField.DATA_OFFSET;
/** DATAL for data PDUs, R2TL for R2T. */
export const D_LENGTH = PduField.DATA_LENGTH;

/** TermReq fields. */
export const TR_FES = PduField.FES;
export const TR_FEI = PduField.FEI;

/** SGL descriptor identifiers (NVMe Base 2.0 §4.3.2; NVMe/TCP 1.0 §3.3). */
export const SGL_DATA_BLOCK_OFFSET = sglIdentifier(SglDescriptorType.DataBlock, SglSubtype.Offset);
export const SGL_TRANSPORT_DATA_BLOCK = sglIdentifier(SglDescriptorType.TransportDataBlock, SglSubtype.TransportSpecific);
/** SQE byte offsets of SGL1 (DPTR). */
export const SQE_SGL_ADDR = SqeField.SGL1_ADDRESS;
export const SQE_SGL_LEN = SqeField.SGL1_LENGTH;
export const SQE_SGL_ID = SqeField.SGL1_IDENTIFIER;
/** SQE byte 1 PSDT bits 7:6 = 01b: SGL for data, MPTR to a contiguous buffer. */
export const SQE_PSDT_SGL = Psdt.SglMptrContiguous << 6;

/** Round `n` up to a multiple of `align` (a power of two or any positive integer). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** A CRC32C function of the shape `@node-rs/crc32` exports: `crc32c(buf, initial?)`. */
export type { Crc32c } from '@nvmu/nvme-spec';

/** `a[i]`, for arrays sized at setup whose index is known to be in range (no `!` in src). */
export function at<T>(a: readonly T[], i: number): T {
  const v = a[i];
  if (v === undefined) throw new RangeError(`index ${i} outside a pool of ${a.length}`);
  return v;
}
