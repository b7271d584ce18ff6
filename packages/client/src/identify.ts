/**
 * The parts of Identify, log pages and discovery the host library reads, decoded into plain
 * objects. Offsets from NVMe Base 2.0 Figure 275 (Identify Controller), NVM Command Set 1.0
 * Figure 97 (Identify Namespace), NVMe Base 2.0 §5.16.1.5 (Changed Namespace List) and
 * NVMe-oF 1.1 §5.3 / NVMe Base 2.0 Figures 262-263 (Discovery Log Page).
 */
import { readAscii } from '@nvmu/nvme-spec';

/** Identify Controller, decoded (the fields the library and its users need). */
export interface ControllerData {
  /** PCI Vendor ID (bytes 1:0). */
  readonly vid: number;
  /** PCI Subsystem Vendor ID (3:2). */
  readonly ssvid: number;
  /** Serial Number (23:4), trimmed. */
  readonly sn: string;
  /** Model Number (63:24), trimmed. */
  readonly mn: string;
  /** Firmware Revision (71:64), trimmed. */
  readonly fr: string;
  /** Maximum Data Transfer Size as a power of two in CAP.MPSMIN units, 0 = no limit (77). */
  readonly mdts: number;
  /** Controller ID (79:78). */
  readonly cntlid: number;
  /** Version (83:80), as in the VS register. */
  readonly ver: number;
  /** Optional Asynchronous Events Supported (95:92); bit 8 Namespace Attribute Notices. */
  readonly oaes: number;
  /** Controller Attributes (99:96). */
  readonly ctratt: number;
  /** Controller Type (111): 1 I/O, 2 discovery, 3 administrative. */
  readonly cntrltype: number;
  /** Optional Admin Command Support (257:256). */
  readonly oacs: number;
  /** Asynchronous Event Request Limit, 0's based (259). */
  readonly aerl: number;
  /** Log Page Attributes (261). */
  readonly lpa: number;
  /** Keep Alive Support granularity in 100 ms units, 0 = keep-alive unsupported (321:320). */
  readonly kas: number;
  /** Submission Queue Entry Size (512): bits 3:0 required, 7:4 maximum (log2). */
  readonly sqes: number;
  /** Completion Queue Entry Size (513). */
  readonly cqes: number;
  /** Maximum Outstanding Commands (515:514), 0 = not reported. */
  readonly maxcmd: number;
  /** Number of Namespaces: the largest valid nsid (519:516). */
  readonly nn: number;
  /** Optional NVM Command Support (521:520): bit 0 Compare, 2 DSM, 3 Write Zeroes, ... */
  readonly oncs: number;
  /** Volatile Write Cache (525): bit 0 present. */
  readonly vwc: number;
  /** SGL Support (539:536). */
  readonly sgls: number;
  /** NVM Subsystem NVMe Qualified Name (1023:768). */
  readonly subnqn: string;
  /** I/O Queue Command Capsule Supported Size in 16-byte units (1795:1792); fabrics only. */
  readonly ioccsz: number;
  /** I/O Queue Response Capsule Supported Size in 16-byte units (1799:1796). */
  readonly iorcsz: number;
  /** In Capsule Data Offset in 16-byte units (1801:1800). */
  readonly icdoff: number;
  /** Fabrics Controller Attributes (1802). */
  readonly fcatt: number;
  /** Maximum SGL Data Block Descriptors (1803). */
  readonly msdbd: number;
}

const u16 = (b: Buffer, o: number): number => b.readUInt16LE(o);
const u32 = (b: Buffer, o: number): number => b.readUInt32LE(o);
const u64 = (b: Buffer, o: number): number => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;
const asBuffer = (d: Uint8Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** Decodes a 4096-byte Identify Controller data structure. */
export function parseIdentifyController(data: Uint8Array): ControllerData {
  if (data.byteLength < 4096) throw new RangeError(`Identify Controller needs 4096 bytes, got ${data.byteLength}`);
  const b = asBuffer(data);
  return {
    vid: u16(b, 0),
    ssvid: u16(b, 2),
    sn: readAscii(b, 4, 20),
    mn: readAscii(b, 24, 40),
    fr: readAscii(b, 64, 8),
    mdts: b[77] ?? 0,
    cntlid: u16(b, 78),
    ver: u32(b, 80),
    oaes: u32(b, 92),
    ctratt: u32(b, 96),
    cntrltype: b[111] ?? 0,
    oacs: u16(b, 256),
    aerl: b[259] ?? 0,
    lpa: b[261] ?? 0,
    kas: u16(b, 320),
    sqes: b[512] ?? 0,
    cqes: b[513] ?? 0,
    maxcmd: u16(b, 514),
    nn: u32(b, 516),
    oncs: u16(b, 520),
    vwc: b[525] ?? 0,
    sgls: u32(b, 536),
    subnqn: readAscii(b, 768, 256),
    ioccsz: u32(b, 1792),
    iorcsz: u32(b, 1796),
    icdoff: u16(b, 1800),
    fcatt: b[1802] ?? 0,
    msdbd: b[1803] ?? 0,
  };
}

/** One LBA format (NVM Command Set 1.0 Figure 98). */
export interface LbaFormat {
  /** Metadata bytes per block. */
  readonly ms: number;
  /** LBA data size as a power of two (9 = 512, 12 = 4096). */
  readonly lbads: number;
  /** Relative performance (0 best). */
  readonly rp: number;
}

/** Identify Namespace (NVM command set), decoded. */
export interface NamespaceData {
  /** Namespace Size in blocks (7:0). */
  readonly nsze: number;
  /** Namespace Capacity in blocks (15:8). */
  readonly ncap: number;
  /** Namespace Utilization in blocks (23:16). */
  readonly nuse: number;
  /** Namespace Features (24). */
  readonly nsfeat: number;
  /** Number of LBA formats, 0's based (25). */
  readonly nlbaf: number;
  /** Formatted LBA Size (26): bits 3:0 low index, 6:5 high index bits. */
  readonly flbas: number;
  /** The LBA formats (128 + 4n). */
  readonly lbaf: readonly LbaFormat[];
  /** The format in use. */
  readonly lbaFormat: LbaFormat;
  /** Namespace Globally Unique Identifier (119:104), 16 bytes. */
  readonly nguid: Uint8Array;
  /** IEEE Extended Unique Identifier (127:120), 8 bytes. */
  readonly eui64: Uint8Array;
}

/** Decodes a 4096-byte Identify Namespace data structure. */
export function parseIdentifyNamespace(data: Uint8Array): NamespaceData {
  if (data.byteLength < 4096) throw new RangeError(`Identify Namespace needs 4096 bytes, got ${data.byteLength}`);
  const b = asBuffer(data);
  const nlbaf = b[25] ?? 0;
  const flbas = b[26] ?? 0;
  const lbaf: LbaFormat[] = [];
  for (let i = 0; i <= Math.min(nlbaf, 63); i++) {
    const v = u32(b, 128 + 4 * i);
    lbaf.push({ ms: v & 0xffff, lbads: (v >>> 16) & 0xff, rp: (v >>> 24) & 0x3 });
  }
  const index = (flbas & 0xf) | (((flbas >> 5) & 0x3) << 4);
  return {
    nsze: u64(b, 0),
    ncap: u64(b, 8),
    nuse: u64(b, 16),
    nsfeat: b[24] ?? 0,
    nlbaf,
    flbas,
    lbaf,
    lbaFormat: lbaf[index] ?? { ms: 0, lbads: 9, rp: 0 },
    nguid: Uint8Array.from(b.subarray(104, 120)),
    eui64: Uint8Array.from(b.subarray(120, 128)),
  };
}

/** A list of nsids (Identify CNS 02h active list, or the Changed Namespace List log page). */
export function parseNsidList(data: Uint8Array): number[] {
  const b = asBuffer(data);
  const out: number[] = [];
  for (let o = 0; o + 4 <= b.byteLength; o += 4) {
    const nsid = u32(b, o);
    if (nsid === 0) break; // the list is zero-terminated
    out.push(nsid);
  }
  return out;
}

/** Discovery Log Page header (NVMe Base 2.0 Figure 262). */
export interface DiscoveryLogHeader {
  /** Generation Counter (7:0): changes whenever the log changes. */
  readonly genctr: bigint;
  /** Number of Records (15:8). */
  readonly numrec: number;
  /** Record Format (17:16). */
  readonly recfmt: number;
}

export function parseDiscoveryHeader(data: Uint8Array): DiscoveryLogHeader {
  const b = asBuffer(data);
  return { genctr: b.readBigUInt64LE(0), numrec: u64(b, 8), recfmt: u16(b, 16) };
}

/**
 * Entries of a Discovery Log Page read together with the header they belong to: an array, with
 * the header's generation counter and record format as extra (non-enumerable) properties, so a
 * caller can tell whether the log changed since (NVMe Base 2.0 §5.16.1.23: GENCTR changes
 * whenever the log does). `map()`/`filter()` results are plain arrays without them.
 */
export type DiscoveryLog<E extends DiscoveryLogEntry = DiscoveryLogEntry> = E[] & {
  /** GENCTR (bytes 7:0) of the read, the same value before and after the entries were read. */
  readonly genctr: bigint;
  /** RECFMT (bytes 17:16). */
  readonly recfmt: number;
};

/** Gives `entries` the header's GENCTR and RECFMT (non-enumerable: JSON and `toEqual` see an array). */
export function withDiscoveryHeader<E extends DiscoveryLogEntry>(entries: E[], header: Pick<DiscoveryLogHeader, 'genctr' | 'recfmt'>): DiscoveryLog<E> {
  return Object.defineProperties(entries, {
    genctr: { value: header.genctr, enumerable: false },
    recfmt: { value: header.recfmt, enumerable: false },
  }) as DiscoveryLog<E>;
}

/** One Discovery Log Page Entry (NVMe Base 2.0 Figure 263), 1024 bytes. */
export interface DiscoveryLogEntry {
  /** Transport Type code (0): 1 RDMA, 2 FC, 3 TCP, FEh intra-host. */
  readonly trtype: number;
  /** Address Family code (1): 1 IPv4, 2 IPv6, 3 IB, 4 FC, FEh intra-host. */
  readonly adrfam: number;
  /** Subsystem Type (2): 1 referral to a discovery subsystem, 2 NVM subsystem, 3 current discovery. */
  readonly subtype: number;
  /** Transport Requirements (3). */
  readonly treq: number;
  /** Port ID (5:4). */
  readonly portid: number;
  /** Controller ID (7:6): FFFFh dynamic. */
  readonly cntlid: number;
  /** Admin Max SQ Size (9:8). */
  readonly asqsz: number;
  /** Entry Flags (11:10). */
  readonly eflags: number;
  /** Transport Service Identifier (63:32). */
  readonly trsvcid: string;
  /** Subsystem NQN (511:256). */
  readonly subnqn: string;
  /** Transport Address (767:512). */
  readonly traddr: string;
  /** Transport Specific Address Subtype (1023:768). */
  readonly tsas: Uint8Array;
}

export function parseDiscoveryEntry(data: Uint8Array, offset: number): DiscoveryLogEntry {
  const b = asBuffer(data);
  return {
    trtype: b[offset] ?? 0,
    adrfam: b[offset + 1] ?? 0,
    subtype: b[offset + 2] ?? 0,
    treq: b[offset + 3] ?? 0,
    portid: u16(b, offset + 4),
    cntlid: u16(b, offset + 6),
    asqsz: u16(b, offset + 8),
    eflags: u16(b, offset + 10),
    trsvcid: readAscii(b, offset + 32, 32),
    subnqn: readAscii(b, offset + 256, 256),
    traddr: readAscii(b, offset + 512, 256),
    tsas: Uint8Array.from(b.subarray(offset + 768, offset + 1024)),
  };
}

/** Namespace identifiers from Identify CNS 03h (NVMe Base 2.0 §5.17.2.3, Figure 274). */
export interface NamespaceIds {
  /** IEEE EUI-64 (NIDT 1h), 8 bytes. */
  readonly eui64?: Uint8Array;
  /** NGUID (NIDT 2h), 16 bytes. */
  readonly nguid?: Uint8Array;
  /** UUID (NIDT 3h), as a lower-case string. */
  readonly uuid?: string;
}

/** Decodes a Namespace Identification Descriptor list (4096 bytes; NIDT 0 ends it). */
export function parseNamespaceIds(data: Uint8Array): NamespaceIds {
  const b = asBuffer(data);
  let eui64: Uint8Array | undefined;
  let nguid: Uint8Array | undefined;
  let uuid: string | undefined;
  for (let o = 0; o + 4 <= b.byteLength; ) {
    const nidt = b[o] ?? 0;
    const nidl = b[o + 1] ?? 0;
    if (nidt === 0 || nidl === 0 || o + 4 + nidl > b.byteLength) break;
    const v = b.subarray(o + 4, o + 4 + nidl);
    if (nidt === 1 && nidl === 8) eui64 = Uint8Array.from(v);
    else if (nidt === 2 && nidl === 16) nguid = Uint8Array.from(v);
    else if (nidt === 3 && nidl === 16) {
      const h = v.toString('hex');
      uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    o += 4 + nidl;
  }
  return { ...(eui64 && { eui64 }), ...(nguid && { nguid }), ...(uuid !== undefined && { uuid }) };
}
