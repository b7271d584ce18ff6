/**
 * The parts of Identify, log pages and discovery the host library reads, decoded into plain
 * objects through @nvmu/nvme-spec's views, the one home of the offsets: Identify Controller
 * (NVMe Base 2.0 Figure 275), Identify Namespace (NVM Command Set 1.0 Figure 97), nsid lists
 * (§5.16.1.5 Changed Namespace List) and the Discovery Log Page (NVMe Base 2.0 Figures 262-263).
 */
import {
  DiscoveryLogEntryView,
  DiscoveryLogPageHeaderView,
  IDENTIFY_DATA_SIZE,
  IdentifyControllerView,
  IdentifyNamespaceView,
  NID_LENGTH,
  NidType,
  decodeNsIdDescriptors,
  decodeNsList,
  formatUuid,
} from '@nvmu/nvme-spec';

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

/** Decodes a 4096-byte Identify Controller data structure. */
export function parseIdentifyController(data: Uint8Array): ControllerData {
  if (data.byteLength < IDENTIFY_DATA_SIZE) throw new RangeError(`Identify Controller needs 4096 bytes, got ${data.byteLength}`);
  const v = new IdentifyControllerView(data);
  return {
    vid: v.vid,
    ssvid: v.ssvid,
    sn: v.sn,
    mn: v.mn,
    fr: v.fr,
    mdts: v.mdts,
    cntlid: v.cntlid,
    ver: v.ver,
    oaes: v.oaes,
    ctratt: v.ctratt,
    cntrltype: v.cntrltype,
    oacs: v.oacs,
    aerl: v.aerl,
    lpa: v.lpa,
    kas: v.kas,
    sqes: v.sqes,
    cqes: v.cqes,
    maxcmd: v.maxcmd,
    nn: v.nn,
    oncs: v.oncs,
    vwc: v.vwc,
    sgls: v.sgls,
    subnqn: v.subnqn,
    ioccsz: v.ioccsz,
    iorcsz: v.iorcsz,
    icdoff: v.icdoff,
    fcatt: v.fcatt,
    msdbd: v.msdbd,
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
  if (data.byteLength < IDENTIFY_DATA_SIZE) throw new RangeError(`Identify Namespace needs 4096 bytes, got ${data.byteLength}`);
  const v = new IdentifyNamespaceView(data);
  const nlbaf = v.nlbaf;
  const lbaf: LbaFormat[] = [];
  for (let i = 0; i <= Math.min(nlbaf, IdentifyNamespaceView.MAX_LBA_FORMATS - 1); i++) lbaf.push(v.lbaf(i));
  return {
    nsze: v.nsze,
    ncap: v.ncap,
    nuse: v.nuse,
    nsfeat: v.nsfeat,
    nlbaf,
    flbas: v.flbas,
    lbaf,
    lbaFormat: lbaf[v.formatIndex] ?? { ms: 0, lbads: 9, rp: 0 },
    nguid: v.nguid,
    eui64: v.eui64,
  };
}

/** A list of nsids (Identify CNS 02h active list, or the Changed Namespace List log page). */
export function parseNsidList(data: Uint8Array): number[] {
  return decodeNsList(data); // zero-terminated, at most 1024 entries
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

/** Decodes the 1024-byte Discovery Log Page header. */
export function parseDiscoveryHeader(data: Uint8Array): DiscoveryLogHeader {
  const v = new DiscoveryLogPageHeaderView(data);
  return { genctr: v.genctrBig, numrec: v.numrec, recfmt: v.recfmt };
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

/** Decodes the 1024-byte Discovery Log Page Entry at `offset` of `data`. */
export function parseDiscoveryEntry(data: Uint8Array, offset: number): DiscoveryLogEntry {
  const v = new DiscoveryLogEntryView(data, offset);
  return {
    trtype: v.trtype,
    adrfam: v.adrfam,
    subtype: v.subtype,
    treq: v.treq,
    portid: v.portid,
    cntlid: v.cntlid,
    asqsz: v.asqsz,
    eflags: v.eflags,
    trsvcid: v.trsvcid,
    subnqn: v.subnqn,
    traddr: v.traddr,
    tsas: v.tsas,
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
  let eui64: Uint8Array | undefined;
  let nguid: Uint8Array | undefined;
  let uuid: string | undefined;
  for (const { nidt, nid } of decodeNsIdDescriptors(data)) {
    if (nid.byteLength !== NID_LENGTH[nidt as NidType]) continue;
    if (nidt === NidType.Eui64) eui64 = nid;
    else if (nidt === NidType.Nguid) nguid = nid;
    else if (nidt === NidType.Uuid) uuid = formatUuid(nid);
  }
  return { ...(eui64 && { eui64 }), ...(nguid && { nguid }), ...(uuid !== undefined && { uuid }) };
}
