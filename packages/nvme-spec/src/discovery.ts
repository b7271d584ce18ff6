/**
 * Discovery (NVMe-oF 1.1 §5, NVMe Base 2.0 §5.16.1.23): the Discovery log page (LID 70h) is a
 * 1024-byte header followed by 1024-byte entries (Figures 262-263). Constants from SPDK
 * nvmf_spec.h and Linux nvme.h.
 */
import { StructView } from './view.js';

/** The well-known discovery subsystem NQN. */
export const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';

/** Size of the log header and of each entry. */
export const DISCOVERY_LOG_HEADER_SIZE = 1024;
export const DISCOVERY_LOG_ENTRY_SIZE = 1024;

/** Transport types (TRTYPE). */
export const Trtype = {
  Rdma: 0x01,
  Fc: 0x02,
  Tcp: 0x03,
  /** Intra-host (loopback) transport. */
  Loop: 0xfe,
} as const;
export type Trtype = (typeof Trtype)[keyof typeof Trtype];

/** Address families (ADRFAM). */
export const Adrfam = {
  Ipv4: 0x01,
  Ipv6: 0x02,
  Ib: 0x03,
  Fc: 0x04,
  Loop: 0xfe,
} as const;
export type Adrfam = (typeof Adrfam)[keyof typeof Adrfam];

/** Subsystem types (SUBTYPE). */
export const DiscoverySubtype = {
  /** Referral to another discovery service. */
  Referral: 0x01,
  /** An NVM subsystem with I/O controllers. */
  Nvme: 0x02,
  /** The discovery subsystem answering (current discovery subsystem). */
  CurrentDiscovery: 0x03,
} as const;
export type DiscoverySubtype = (typeof DiscoverySubtype)[keyof typeof DiscoverySubtype];

/** TREQ bits: secure channel (bits 1:0) and SQ flow control (bit 2). */
export const Treq = {
  SecureChannelNotSpecified: 0x0,
  SecureChannelRequired: 0x1,
  SecureChannelNotRequired: 0x2,
  SECURE_CHANNEL_MASK: 0x3,
  /** SQ flow control disable supported. */
  DisableSqFlowControl: 0x4,
} as const;

/** EFLAGS bits. */
export const Eflags = {
  /** Duplicate Returned Information. */
  DuplicateReturnedInfo: 1 << 0,
  /** Explicit Persistent Connection Support for Discovery. */
  ExplicitPersistentConnection: 1 << 1,
  /** No CDC Connectivity. */
  NoCdcConnectivity: 1 << 2,
} as const;

/** TCP security type in TSAS byte 0. */
export const TcpSecType = {
  None: 0,
  Tls12: 1,
  Tls13: 2,
} as const;

/** Discovery log page header: 1024 bytes. */
export class DiscoveryLogPageHeaderView extends StructView {
  static readonly SIZE = DISCOVERY_LOG_HEADER_SIZE;
  get byteLength(): number {
    return DISCOVERY_LOG_HEADER_SIZE;
  }
  /** Generation Counter: changes whenever the log changes (bytes 7:0). */
  get genctr(): number {
    return this.u64(0);
  }
  set genctr(v: number) {
    this.setU64(0, v);
  }
  get genctrBig(): bigint {
    return this.u64Big(0);
  }
  set genctrBig(v: bigint) {
    this.setU64Big(0, v);
  }
  /** Number of Records (bytes 15:8). */
  get numrec(): number {
    return this.u64(8);
  }
  set numrec(v: number) {
    this.setU64(8, v);
  }
  get numrecBig(): bigint {
    return this.u64Big(8);
  }
  set numrecBig(v: bigint) {
    this.setU64Big(8, v);
  }
  /** Record Format (0) (bytes 17:16). */
  get recfmt(): number {
    return this.u16(16);
  }
  set recfmt(v: number) {
    this.setU16(16, v);
  }
}

/** Discovery log page entry: 1024 bytes. Entry `i` starts at 1024 × (i + 1) of the log. */
export class DiscoveryLogEntryView extends StructView {
  static readonly SIZE = DISCOVERY_LOG_ENTRY_SIZE;
  get byteLength(): number {
    return DISCOVERY_LOG_ENTRY_SIZE;
  }
  /** Transport Type (see `Trtype`) (byte 0). */
  get trtype(): number {
    return this.u8(0);
  }
  set trtype(v: number) {
    this.setU8(0, v);
  }
  /** Address Family (see `Adrfam`) (byte 1). */
  get adrfam(): number {
    return this.u8(1);
  }
  set adrfam(v: number) {
    this.setU8(1, v);
  }
  /** Subsystem Type (see `DiscoverySubtype`) (byte 2). */
  get subtype(): number {
    return this.u8(2);
  }
  set subtype(v: number) {
    this.setU8(2, v);
  }
  /** Transport Requirements (see `Treq`); leave the secure channel bits 0 until TLS exists (byte 3). */
  get treq(): number {
    return this.u8(3);
  }
  set treq(v: number) {
    this.setU8(3, v);
  }
  /** Port ID (bytes 5:4). */
  get portid(): number {
    return this.u16(4);
  }
  set portid(v: number) {
    this.setU16(4, v);
  }
  /** Controller ID: 0xFFFF for the dynamic model (bytes 7:6). */
  get cntlid(): number {
    return this.u16(6);
  }
  set cntlid(v: number) {
    this.setU16(6, v);
  }
  /** Admin Max SQ Size (nvmet reports 32) (bytes 9:8). */
  get asqsz(): number {
    return this.u16(8);
  }
  set asqsz(v: number) {
    this.setU16(8, v);
  }
  /** Entry Flags (see `Eflags`) (bytes 11:10). */
  get eflags(): number {
    return this.u16(10);
  }
  set eflags(v: number) {
    this.setU16(10, v);
  }
  /** Transport Service Identifier (TCP port as text) (bytes 63:32), space padded. */
  get trsvcid(): string {
    return this.str(32, 32);
  }
  set trsvcid(v: string) {
    this.setStr(32, 32, v, 'space');
  }
  /** Subsystem NQN (bytes 511:256), NUL padded. */
  get subnqn(): string {
    return this.str(256, 256);
  }
  set subnqn(v: string) {
    this.setStr(256, 256, v, 'nul');
  }
  /** Transport Address (IP address as text) (bytes 767:512), space padded. */
  get traddr(): string {
    return this.str(512, 256);
  }
  set traddr(v: string) {
    this.setStr(512, 256, v, 'space');
  }
  /** Transport Specific Address Subtype (bytes 1023:768); the getter returns a copy. */
  get tsas(): Uint8Array {
    return this.raw(768, 256);
  }
  set tsas(v: Uint8Array) {
    this.setRaw(768, 256, v);
  }
  /** TCP: security type, TSAS byte 0 (see `TcpSecType`) (byte 768). */
  get sectype(): number {
    return this.u8(768);
  }
  set sectype(v: number) {
    this.setU8(768, v);
  }
}

/** Offset of entry `i` in the discovery log. */
export function discoveryLogEntryOffset(i: number): number {
  return DISCOVERY_LOG_HEADER_SIZE + i * DISCOVERY_LOG_ENTRY_SIZE;
}
/** Total size of a discovery log with `numrec` entries. */
export function discoveryLogSize(numrec: number): number {
  return DISCOVERY_LOG_HEADER_SIZE + numrec * DISCOVERY_LOG_ENTRY_SIZE;
}

/** nvme-cli / libnvme spellings of TRTYPE (as in `nvme discover` output and `-t`). */
const TRTYPE_NAMES: Readonly<Record<number, string>> = { 0x01: 'rdma', 0x02: 'fc', 0x03: 'tcp', 0xfe: 'loop' };
/** nvme-cli spellings of ADRFAM. */
const ADRFAM_NAMES: Readonly<Record<number, string>> = { 0x01: 'ipv4', 0x02: 'ipv6', 0x03: 'infiniband', 0x04: 'fibre-channel', 0xfe: 'intra-host' };
/** nvme-cli spellings of SUBTYPE. */
const SUBTYPE_NAMES: Readonly<Record<number, string>> = {
  0x01: 'discovery subsystem referral',
  0x02: 'nvme subsystem',
  0x03: 'current discovery subsystem',
};

/** `'tcp'` for 3, …; `'unrecognized'` otherwise. */
export function trtypeName(trtype: number): string {
  return TRTYPE_NAMES[trtype] ?? 'unrecognized';
}
/** TRTYPE for an nvme-cli transport name (`'tcp'`, `'rdma'`, `'fc'`, `'loop'`), or undefined. */
export function trtypeFromName(name: string): number | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of Object.entries(TRTYPE_NAMES)) if (v === n) return Number(k);
  return undefined;
}
/** `'ipv4'` for 1, …; `'unrecognized'` otherwise. */
export function adrfamName(adrfam: number): string {
  return ADRFAM_NAMES[adrfam] ?? 'unrecognized';
}
/** `'nvme subsystem'` for 2, …; `'unrecognized'` otherwise. */
export function subtypeName(subtype: number): string {
  return SUBTYPE_NAMES[subtype] ?? 'unrecognized';
}
