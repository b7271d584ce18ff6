/**
 * Controller registers / fabrics properties (NVMe Base 2.0 §3.1.3, Figure 35; NVMe-oF properties
 * use the same offsets, §3.1.4). Field layouts from Figures 36-62.
 */

/** Register (property) byte offsets. */
export const Register = {
  CAP: 0x00,
  VS: 0x08,
  INTMS: 0x0c,
  INTMC: 0x10,
  CC: 0x14,
  CSTS: 0x1c,
  NSSR: 0x20,
  AQA: 0x24,
  ASQ: 0x28,
  ACQ: 0x30,
  CMBLOC: 0x38,
  CMBSZ: 0x3c,
  BPINFO: 0x40,
  BPRSEL: 0x44,
  BPMBL: 0x48,
  CMBMSC: 0x50,
  CMBSTS: 0x58,
  PMRCAP: 0xe00,
  PMRCTL: 0xe04,
  PMRSTS: 0xe08,
  PMREBS: 0xe0c,
  PMRSWTP: 0xe10,
  /** First doorbell (SQ 0 tail). */
  DOORBELLS: 0x1000,
} as const;
export type Register = (typeof Register)[keyof typeof Register];

/** Size in bytes (4 or 8) of each register; 8-byte ones are CAP, ASQ, ACQ, BPMBL, CMBMSC. */
export function registerSize(offset: number): 4 | 8 {
  return offset === Register.CAP ||
    offset === Register.ASQ ||
    offset === Register.ACQ ||
    offset === Register.BPMBL ||
    offset === Register.CMBMSC
    ? 8
    : 4;
}

/** The value written to NSSR to start an NVM subsystem reset: "NVMe" (NVMe Base 2.0 §3.1.3.7). */
export const NSSR_RESET_VALUE = 0x4e564d65;

/** Offset of SQ `qid`'s tail doorbell: 1000h + (2y × (4 << CAP.DSTRD)) (NVMe Base 2.0 §3.1.3.21). */
export function sqTailDoorbell(qid: number, dstrd: number): number {
  return Register.DOORBELLS + 2 * qid * (4 << dstrd);
}

/** Offset of CQ `qid`'s head doorbell: 1000h + ((2y + 1) × (4 << CAP.DSTRD)). */
export function cqHeadDoorbell(qid: number, dstrd: number): number {
  return Register.DOORBELLS + (2 * qid + 1) * (4 << dstrd);
}

/** Decode a doorbell offset into its queue: `{ qid, cq }`, or undefined when not on a slot. */
export function decodeDoorbell(offset: number, dstrd: number): { qid: number; cq: boolean } | undefined {
  const rel = offset - Register.DOORBELLS;
  const stride = 4 << dstrd;
  if (rel < 0 || rel % stride !== 0) return undefined;
  const slot = rel / stride;
  return { qid: slot >> 1, cq: (slot & 1) === 1 };
}

const b = (v: bigint | number): bigint => BigInt.asUintN(64, BigInt(v));
const field = (v: bigint, shift: number, width: number): number => Number((v >> BigInt(shift)) & ((1n << BigInt(width)) - 1n));
const put = (v: number | boolean | undefined, shift: number, width: number): bigint =>
  (BigInt(Number(v ?? 0)) & ((1n << BigInt(width)) - 1n)) << BigInt(shift);

/** CAP — Controller Capabilities (Figure 36). */
export interface Cap {
  /** Maximum Queue Entries Supported, 0's based (15:0). */
  mqes: number;
  /** Contiguous Queues Required (16). */
  cqr: boolean;
  /** Arbitration Mechanism Supported (18:17): bit 0 WRR with urgent, bit 1 vendor specific. */
  ams: number;
  /** Timeout in 500 ms units (31:24). */
  to: number;
  /** Doorbell Stride: stride is 4 << dstrd bytes (35:32). */
  dstrd: number;
  /** NVM Subsystem Reset Supported (36). */
  nssrs: boolean;
  /** Command Sets Supported (44:37): bit 0 NVM, bit 6 I/O command sets, bit 7 admin only. */
  css: number;
  /** Boot Partition Support (45). */
  bps: boolean;
  /** Controller Power Scope (47:46). */
  cps: number;
  /** Memory Page Size Minimum: 2^(12+mpsmin) (51:48). */
  mpsmin: number;
  /** Memory Page Size Maximum (55:52). */
  mpsmax: number;
  /** Persistent Memory Region Supported (56). */
  pmrs: boolean;
  /** Controller Memory Buffer Supported (57). */
  cmbs: boolean;
  /** NVM Subsystem Shutdown Supported (58). */
  nsss: boolean;
  /** Controller Ready Modes Supported (60:59): bit 0 with media, bit 1 independent of media. */
  crms: number;
}

export function decodeCap(value: bigint | number): Cap {
  const v = b(value);
  return {
    mqes: field(v, 0, 16),
    cqr: field(v, 16, 1) === 1,
    ams: field(v, 17, 2),
    to: field(v, 24, 8),
    dstrd: field(v, 32, 4),
    nssrs: field(v, 36, 1) === 1,
    css: field(v, 37, 8),
    bps: field(v, 45, 1) === 1,
    cps: field(v, 46, 2),
    mpsmin: field(v, 48, 4),
    mpsmax: field(v, 52, 4),
    pmrs: field(v, 56, 1) === 1,
    cmbs: field(v, 57, 1) === 1,
    nsss: field(v, 58, 1) === 1,
    crms: field(v, 59, 2),
  };
}

export function encodeCap(c: Partial<Cap>): bigint {
  return (
    put(c.mqes, 0, 16) |
    put(c.cqr, 16, 1) |
    put(c.ams, 17, 2) |
    put(c.to, 24, 8) |
    put(c.dstrd, 32, 4) |
    put(c.nssrs, 36, 1) |
    put(c.css, 37, 8) |
    put(c.bps, 45, 1) |
    put(c.cps, 46, 2) |
    put(c.mpsmin, 48, 4) |
    put(c.mpsmax, 52, 4) |
    put(c.pmrs, 56, 1) |
    put(c.cmbs, 57, 1) |
    put(c.nsss, 58, 1) |
    put(c.crms, 59, 2)
  );
}

/** CAP.CSS bits. */
export const CapCss = {
  Nvm: 1 << 0,
  IoCommandSets: 1 << 6,
  NoIoCommandSet: 1 << 7,
} as const;

/** VS — Version (Figure 40): MJR 31:16, MNR 15:8, TER 7:0. */
export interface Vs {
  mjr: number;
  mnr: number;
  ter: number;
}
export function decodeVs(v: number): Vs {
  return { mjr: (v >>> 16) & 0xffff, mnr: (v >>> 8) & 0xff, ter: v & 0xff };
}
export function encodeVs(v: Partial<Vs>): number {
  return ((((v.mjr ?? 0) & 0xffff) << 16) | (((v.mnr ?? 0) & 0xff) << 8) | ((v.ter ?? 0) & 0xff)) >>> 0;
}
/** Common version values (VS / Identify VER). */
export const NvmeVersion = {
  V1_0: 0x00010000,
  V1_2: 0x00010200,
  V1_3: 0x00010300,
  V1_4: 0x00010400,
  V2_0: 0x00020000,
} as const;

/** CC — Controller Configuration (Figure 41). */
export interface Cc {
  /** Enable (0). */
  en: boolean;
  /** I/O Command Set Selected (6:4): 0 NVM, 6 all supported I/O sets, 7 admin only. */
  css: number;
  /** Memory Page Size: 2^(12+mps) (10:7). */
  mps: number;
  /** Arbitration Mechanism Selected (13:11). */
  ams: number;
  /** Shutdown Notification (15:14): see `ShutdownNotification`. */
  shn: number;
  /** I/O SQ entry size as log2 (19:16); 6 = 64 bytes. */
  iosqes: number;
  /** I/O CQ entry size as log2 (23:20); 4 = 16 bytes. */
  iocqes: number;
  /** Controller Ready Independent of Media Enable (24). */
  crime: boolean;
}
export function decodeCc(v: number): Cc {
  return {
    en: (v & 1) === 1,
    css: (v >>> 4) & 0x7,
    mps: (v >>> 7) & 0xf,
    ams: (v >>> 11) & 0x7,
    shn: (v >>> 14) & 0x3,
    iosqes: (v >>> 16) & 0xf,
    iocqes: (v >>> 20) & 0xf,
    crime: ((v >>> 24) & 1) === 1,
  };
}
export function encodeCc(c: Partial<Cc>): number {
  return (
    ((c.en === true ? 1 : 0) |
      (((c.css ?? 0) & 0x7) << 4) |
      (((c.mps ?? 0) & 0xf) << 7) |
      (((c.ams ?? 0) & 0x7) << 11) |
      (((c.shn ?? 0) & 0x3) << 14) |
      (((c.iosqes ?? 0) & 0xf) << 16) |
      (((c.iocqes ?? 0) & 0xf) << 20) |
      (c.crime === true ? 1 << 24 : 0)) >>>
    0
  );
}

/** CC.SHN values. */
export const ShutdownNotification = {
  None: 0,
  Normal: 1,
  Abrupt: 2,
} as const;

/** CSTS — Controller Status (Figure 42). */
export interface Csts {
  /** Ready (0). */
  rdy: boolean;
  /** Controller Fatal Status (1). */
  cfs: boolean;
  /** Shutdown Status (3:2): see `ShutdownStatus`. */
  shst: number;
  /** NVM Subsystem Reset Occurred (4). */
  nssro: boolean;
  /** Processing Paused (5). */
  pp: boolean;
  /** Shutdown Type (6). */
  st: boolean;
}
export function decodeCsts(v: number): Csts {
  return {
    rdy: (v & 1) === 1,
    cfs: ((v >>> 1) & 1) === 1,
    shst: (v >>> 2) & 0x3,
    nssro: ((v >>> 4) & 1) === 1,
    pp: ((v >>> 5) & 1) === 1,
    st: ((v >>> 6) & 1) === 1,
  };
}
export function encodeCsts(c: Partial<Csts>): number {
  return (
    (c.rdy === true ? 1 : 0) |
    (c.cfs === true ? 2 : 0) |
    (((c.shst ?? 0) & 0x3) << 2) |
    (c.nssro === true ? 1 << 4 : 0) |
    (c.pp === true ? 1 << 5 : 0) |
    (c.st === true ? 1 << 6 : 0)
  );
}

/** CSTS.SHST values. */
export const ShutdownStatus = {
  Normal: 0,
  Occurring: 1,
  Complete: 2,
} as const;

/** AQA — Admin Queue Attributes (Figure 44): sizes are 0's based. */
export interface Aqa {
  /** Admin Submission Queue Size (11:0). */
  asqs: number;
  /** Admin Completion Queue Size (27:16). */
  acqs: number;
}
export function decodeAqa(v: number): Aqa {
  return { asqs: v & 0xfff, acqs: (v >>> 16) & 0xfff };
}
export function encodeAqa(a: Partial<Aqa>): number {
  return (((a.asqs ?? 0) & 0xfff) | (((a.acqs ?? 0) & 0xfff) << 16)) >>> 0;
}

/** ASQ / ACQ base addresses: bits 11:0 are reserved (page aligned). */
export function queueBase(value: bigint | number): bigint {
  return b(value) & ~0xfffn;
}

/** CMBLOC — Controller Memory Buffer Location (Figure 47). */
export interface Cmbloc {
  /** Base Indicator Register (2:0). */
  bir: number;
  /** CQMMS (3), CQPDS (4), CDPMLS (5), CDPCILS (6), CDMMMS (7), CQDA (8): bits 8:3 as raw flags, bit 0 = CQMMS. */
  flags: number;
  /** Offset in CMBSZ.SZU units (31:12). */
  ofst: number;
}
export function decodeCmbloc(v: number): Cmbloc {
  return { bir: v & 0x7, flags: (v >>> 3) & 0x3f, ofst: v >>> 12 };
}
export function encodeCmbloc(c: Partial<Cmbloc>): number {
  return (((c.bir ?? 0) & 0x7) | (((c.flags ?? 0) & 0x3f) << 3) | (((c.ofst ?? 0) & 0xfffff) << 12)) >>> 0;
}

/** CMBSZ — Controller Memory Buffer Size (Figure 48). */
export interface Cmbsz {
  /** Submission Queue Support (0). */
  sqs: boolean;
  /** Completion Queue Support (1). */
  cqs: boolean;
  /** PRP SGL List Support (2). */
  lists: boolean;
  /** Read Data Support (3). */
  rds: boolean;
  /** Write Data Support (4). */
  wds: boolean;
  /** Size Units (11:8): 0 4 KiB, 1 64 KiB, 2 1 MiB, 3 16 MiB, 4 256 MiB, 5 4 GiB, 6 64 GiB. */
  szu: number;
  /** Size in SZU units (31:12). */
  sz: number;
}
export function decodeCmbsz(v: number): Cmbsz {
  return {
    sqs: (v & 1) === 1,
    cqs: ((v >>> 1) & 1) === 1,
    lists: ((v >>> 2) & 1) === 1,
    rds: ((v >>> 3) & 1) === 1,
    wds: ((v >>> 4) & 1) === 1,
    szu: (v >>> 8) & 0xf,
    sz: v >>> 12,
  };
}
export function encodeCmbsz(c: Partial<Cmbsz>): number {
  return (
    ((c.sqs === true ? 1 : 0) |
      (c.cqs === true ? 2 : 0) |
      (c.lists === true ? 4 : 0) |
      (c.rds === true ? 8 : 0) |
      (c.wds === true ? 16 : 0) |
      (((c.szu ?? 0) & 0xf) << 8) |
      (((c.sz ?? 0) & 0xfffff) << 12)) >>>
    0
  );
}

/**
 * INTMS / INTMC (Figures 39-40): writing 1 to bit n of INTMS masks interrupt vector n, writing 1
 * to the same bit of INTMC unmasks it; reads of either return the current mask. Only for pin /
 * single-MSI interrupts (not MSI-X). Apply a write to a mask value.
 */
export function applyIntms(mask: number, written: number): number {
  return (mask | written) >>> 0;
}
export function applyIntmc(mask: number, written: number): number {
  return (mask & ~written) >>> 0;
}

/** Memory page size in bytes for an MPS/MPSMIN/MPSMAX field value: 2^(12 + v). */
export function memoryPageSize(mps: number): number {
  return 2 ** (12 + mps);
}

/**
 * Offset of a queue's slot in the Doorbell Buffer Config shadow doorbell and EventIdx buffers
 * (NVMe Base 2.0 §5.8): the buffers mirror the doorbell registers without the 1000h base.
 */
export function shadowDoorbellOffset(qid: number, cq: boolean, dstrd: number): number {
  return (2 * qid + (cq ? 1 : 0)) * (4 << dstrd);
}
