/**
 * NVMe/TCP PDU layout: the numbers this transport writes and checks on the wire.
 *
 * NVMe over Fabrics TCP Transport Binding (NVMe/TCP 1.0, "TCP 1.0" below) §3.6.2 (Common Header),
 * Figures 17-29. Values were checked against Linux include/linux/nvme-tcp.h and SPDK
 * include/spdk/nvmf_spec.h. Everything is little-endian.
 *
 * The transport writes headers straight into preallocated per-request Buffers with
 * `writeUInt*LE` and reads received headers from one per-connection header Buffer, so nothing
 * here allocates.
 */

// PDU types, flags, FES values and digest bits come from @nvmu/nvme-spec (NVMe/TCP 1.0 §3.6).
export { PduType, PduFlags, TermReqFes, DigestEnable, GenericStatus } from '@nvmu/nvme-spec';


/** Fixed header lengths (HLEN) per PDU type. */
export const ICREQ_LEN = 128;
export const ICRESP_LEN = 128;
export const COMMON_HDR_LEN = 8;
export const CAPSULE_CMD_HLEN = 72; // 8 + 64-byte SQE
export const CAPSULE_RESP_HLEN = 24; // 8 + 16-byte CQE
export const DATA_HLEN = 24; // H2CData and C2HData
export const R2T_HLEN = 24;
export const TERM_REQ_HLEN = 24;
/** A TermReq carries at most the 128 bytes of the offending PDU header (TCP 1.0 §3.6.2.x). */
export const TERM_REQ_MAX_DATA = 128;
export const DIGEST_LEN = 4;
/** The longest header any PDU type has (ICReq/ICResp), plus a header digest. */
export const MAX_HDR_LEN = 128 + DIGEST_LEN;

/** Protocol format version 1.0 (TCP 1.0 Figure 19: PFV 0). */
export const PFV_1_0 = 0;

/** Minimum MAXH2CDATA a controller may advertise (TCP 1.0 Figure 20; Linux checks it). */
export const MIN_MAXH2CDATA = 4096;

/** The admin queue's in-capsule data size the Linux host assumes (nvme-tcp.h NVME_TCP_ADMIN_CCSZ). */
export const ADMIN_IN_CAPSULE = 8192;

/** Common header field offsets. */
export const CH_TYPE = 0;
export const CH_FLAGS = 1;
export const CH_HLEN = 2;
export const CH_PDO = 3;
export const CH_PLEN = 4;

/** ICReq/ICResp fields (TCP 1.0 Figures 19-20). */
export const IC_PFV = 8;
/** ICReq: HPDA; ICResp: CPDA. */
export const IC_PDA = 10;
export const IC_DGST = 11;
/** ICReq: MAXR2T (0's based); ICResp: MAXH2CDATA. */
export const IC_MAX = 12;

/** H2CData / C2HData / R2T fields (TCP 1.0 Figures 22-24, 29). */
export const D_CCCID = 8;
export const D_TTAG = 10;
/** DATAO for data PDUs, R2TO for R2T. */
export const D_OFFSET = 12;
/** DATAL for data PDUs, R2TL for R2T. */
export const D_LENGTH = 16;

/** TermReq fields (TCP 1.0 Figures 25-26). */
export const TR_FES = 8;
export const TR_FEI = 10;

/** SGL descriptor identifiers (NVMe Base 2.0 §4.3.2 Figure 115-116; NVMe/TCP 1.0 §3.3). */
export const SGL_DATA_BLOCK_OFFSET = 0x01; // type 0h Data Block, subtype 1h Offset
export const SGL_TRANSPORT_DATA_BLOCK = 0x5a; // type 5h Transport SGL Data Block, subtype Ah
/** SQE byte offsets of SGL1 (DPTR). */
export const SQE_SGL_ADDR = 24;
export const SQE_SGL_LEN = 32;
export const SQE_SGL_ID = 39;
/** SQE byte 1 PSDT bits 7:6 = 01b: SGL for data, MPTR to contiguous buffer (NVMe Base 2.0 Fig 87). */
export const SQE_PSDT_SGL = 0x40;

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
