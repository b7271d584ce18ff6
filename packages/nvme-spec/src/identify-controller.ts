/**
 * Identify Controller (CNS 01h, NVMe Base 2.0 Figure 275) with its field flags, and the NVM
 * command set's Identify Controller (CNS 06h, CSI 00h, NVM CS 1.0 Figure 98). Offsets
 * cross-checked with SPDK `struct spdk_nvme_ctrlr_data` and Linux `struct nvme_id_ctrl`.
 */
import { StructView } from './view.js';
import { IDENTIFY_DATA_SIZE } from './identify-cns.js';

/** Identify Controller CNTRLTYPE. */
export const ControllerType = {
  NotReported: 0,
  Io: 1,
  Discovery: 2,
  Administrative: 3,
} as const;
export type ControllerType = (typeof ControllerType)[keyof typeof ControllerType];

/** CMIC bits (Identify Controller byte 76). */
export const Cmic = {
  MultiPort: 1 << 0,
  MultiController: 1 << 1,
  SrIov: 1 << 2,
  /** Asymmetric Namespace Access reporting supported. */
  AnaReporting: 1 << 3,
} as const;

/** VWC bits (Identify Controller byte 525). */
export const Vwc = {
  Present: 1 << 0,
  /** Bits 2:1: what Flush with NSID FFFFFFFFh does. */
  FLUSH_BROADCAST_MASK: 0x6,
  /** 10b: Flush with NSID FFFFFFFFh is not supported. */
  FLUSH_BROADCAST_NOT_SUPPORTED: 0x4,
  /** 11b: Flush with NSID FFFFFFFFh is supported. */
  FLUSH_BROADCAST_SUPPORTED: 0x6,
} as const;

/** FCATT bits (Identify Controller byte 1802, NVMe-oF): 0 dynamic controller model, 1 static. */
export const Fcatt = {
  StaticController: 1 << 0,
} as const;

/** DCTYPE values (Identify Controller byte 1806, discovery controllers only; Base 2.0 Fig. 275). */
export const DiscoveryControllerType = {
  NotReported: 0,
  /** Direct Discovery Controller. */
  Direct: 1,
  /** Central Discovery Controller. */
  Central: 2,
} as const;
export type DiscoveryControllerType = (typeof DiscoveryControllerType)[keyof typeof DiscoveryControllerType];

/** OACS bits (Identify Controller bytes 257:256). */
export const Oacs = {
  SecuritySendReceive: 1 << 0,
  FormatNvm: 1 << 1,
  FirmwareCommitDownload: 1 << 2,
  NamespaceManagement: 1 << 3,
  DeviceSelfTest: 1 << 4,
  Directives: 1 << 5,
  NvmeMi: 1 << 6,
  VirtualizationManagement: 1 << 7,
  DoorbellBufferConfig: 1 << 8,
  GetLbaStatus: 1 << 9,
  CommandFeatureLockdown: 1 << 10,
} as const;

/** ONCS bits (Identify Controller bytes 521:520). */
export const Oncs = {
  Compare: 1 << 0,
  WriteUncorrectable: 1 << 1,
  DatasetManagement: 1 << 2,
  WriteZeroes: 1 << 3,
  SaveSelectFeatures: 1 << 4,
  Reservations: 1 << 5,
  Timestamp: 1 << 6,
  Verify: 1 << 7,
  Copy: 1 << 8,
} as const;

/** SGLS bits (Identify Controller bytes 539:536). */
export const Sgls = {
  /** Bits 1:0 value 1: SGLs supported, no alignment requirement. */
  SUPPORTED: 0x1,
  /** Bits 1:0 value 2: SGLs supported, dword alignment required. */
  SUPPORTED_DWORD_ALIGNED: 0x2,
  SUPPORT_MASK: 0x3,
  KeyedDataBlock: 1 << 2,
  BitBucket: 1 << 16,
  ByteAlignedContiguousMetadata: 1 << 17,
  OversizedDataLength: 1 << 18,
  MptrSgl: 1 << 19,
  AddressAsOffset: 1 << 20,
  TransportDataBlock: 1 << 21,
} as const;

/** OAES bits (Identify Controller bytes 95:92). */
export const Oaes = {
  NamespaceAttributeNotices: 1 << 8,
  FirmwareActivationNotices: 1 << 9,
  AnaChangeNotices: 1 << 11,
  PredictableLatencyEventNotices: 1 << 12,
  LbaStatusInformationNotices: 1 << 13,
  EnduranceGroupEventNotices: 1 << 14,
  NormalSubsystemShutdownNotices: 1 << 15,
  ZoneDescriptorChangedNotices: 1 << 27,
  DiscoveryLogChangeNotices: 1 << 31,
} as const;

/** ANACAP bits (Identify Controller byte 343). */
export const Anacap = {
  Optimized: 1 << 0,
  NonOptimized: 1 << 1,
  Inaccessible: 1 << 2,
  PersistentLoss: 1 << 3,
  Change: 1 << 4,
  AnagrpidStatic: 1 << 6,
  NonZeroAnagrpid: 1 << 7,
} as const;

/** LPA bits (Identify Controller byte 261). */
export const Lpa = {
  SmartPerNamespace: 1 << 0,
  CommandsSupportedAndEffects: 1 << 1,
  ExtendedData: 1 << 2,
  Telemetry: 1 << 3,
  PersistentEvent: 1 << 4,
} as const;

/** CTRATT bits (Identify Controller bytes 99:96). */
export const Ctratt = {
  HostId128Bit: 1 << 0,
  NonOperationalPowerStatePermissive: 1 << 1,
  NvmSets: 1 << 2,
  ReadRecoveryLevels: 1 << 3,
  EnduranceGroups: 1 << 4,
  PredictableLatencyMode: 1 << 5,
  TrafficBasedKeepAlive: 1 << 6,
  NamespaceGranularity: 1 << 7,
} as const;

/** Identify Controller data structure (CNS 01h): 4096 bytes. */
export class IdentifyControllerView extends StructView {
  static readonly SIZE = IDENTIFY_DATA_SIZE;
  get byteLength(): number {
    return IDENTIFY_DATA_SIZE;
  }

  // ---- controller identity ----
  /** PCI Vendor ID (bytes 1:0). */
  get vid(): number {
    return this.u16(0);
  }
  set vid(v: number) {
    this.setU16(0, v);
  }
  /** PCI Subsystem Vendor ID (bytes 3:2). */
  get ssvid(): number {
    return this.u16(2);
  }
  set ssvid(v: number) {
    this.setU16(2, v);
  }
  /** Serial Number (bytes 23:4), space padded. */
  get sn(): string {
    return this.str(4, 20);
  }
  set sn(v: string) {
    this.setStr(4, 20, v, 'space');
  }
  /** Model Number (bytes 63:24), space padded. */
  get mn(): string {
    return this.str(24, 40);
  }
  set mn(v: string) {
    this.setStr(24, 40, v, 'space');
  }
  /** Firmware Revision (bytes 71:64), space padded. */
  get fr(): string {
    return this.str(64, 8);
  }
  set fr(v: string) {
    this.setStr(64, 8, v, 'space');
  }
  /** Recommended Arbitration Burst (byte 72). */
  get rab(): number {
    return this.u8(72);
  }
  set rab(v: number) {
    this.setU8(72, v);
  }
  /** IEEE OUI Identifier (bytes 75:73); the getter returns a copy. */
  get ieee(): Uint8Array {
    return this.raw(73, 3);
  }
  set ieee(v: Uint8Array) {
    this.setRaw(73, 3, v);
  }
  /** Controller Multi-Path I/O and Namespace Sharing Capabilities (bit 0 multiple ports, 1 multiple controllers, 3 ANA reporting) (byte 76). */
  get cmic(): number {
    return this.u8(76);
  }
  set cmic(v: number) {
    this.setU8(76, v);
  }
  /** Maximum Data Transfer Size as a power of two of CAP.MPSMIN pages; 0 = no limit (byte 77). */
  get mdts(): number {
    return this.u8(77);
  }
  set mdts(v: number) {
    this.setU8(77, v);
  }
  /** Controller ID; must equal the one Connect returned (bytes 79:78). */
  get cntlid(): number {
    return this.u16(78);
  }
  set cntlid(v: number) {
    this.setU16(78, v);
  }
  /** Version, same encoding as VS (bytes 83:80). */
  get ver(): number {
    return this.u32(80);
  }
  set ver(v: number) {
    this.setU32(80, v);
  }
  /** RTD3 Resume Latency (µs) (bytes 87:84). */
  get rtd3r(): number {
    return this.u32(84);
  }
  set rtd3r(v: number) {
    this.setU32(84, v);
  }
  /** RTD3 Entry Latency (µs) (bytes 91:88). */
  get rtd3e(): number {
    return this.u32(88);
  }
  set rtd3e(v: number) {
    this.setU32(88, v);
  }
  /** Optional Asynchronous Events Supported (see `Oaes`) (bytes 95:92). */
  get oaes(): number {
    return this.u32(92);
  }
  set oaes(v: number) {
    this.setU32(92, v);
  }
  /** Controller Attributes (bit 0 128-bit host ID, bit 7 NS granularity, ...) (bytes 99:96). */
  get ctratt(): number {
    return this.u32(96);
  }
  set ctratt(v: number) {
    this.setU32(96, v);
  }
  /** Read Recovery Levels Supported (bytes 101:100). */
  get rrls(): number {
    return this.u16(100);
  }
  set rrls(v: number) {
    this.setU16(100, v);
  }
  /** Controller Type: 1 I/O, 2 discovery, 3 administrative (see `ControllerType`) (byte 111). */
  get cntrltype(): number {
    return this.u8(111);
  }
  set cntrltype(v: number) {
    this.setU8(111, v);
  }
  /** FRU Globally Unique Identifier (bytes 127:112); the getter returns a copy. */
  get fguid(): Uint8Array {
    return this.raw(112, 16);
  }
  set fguid(v: Uint8Array) {
    this.setRaw(112, 16, v);
  }
  /** Command Retry Delay Time 1 (100 ms units) (bytes 129:128). */
  get crdt1(): number {
    return this.u16(128);
  }
  set crdt1(v: number) {
    this.setU16(128, v);
  }
  /** Command Retry Delay Time 2 (bytes 131:130). */
  get crdt2(): number {
    return this.u16(130);
  }
  set crdt2(v: number) {
    this.setU16(130, v);
  }
  /** Command Retry Delay Time 3 (bytes 133:132). */
  get crdt3(): number {
    return this.u16(132);
  }
  set crdt3(v: number) {
    this.setU16(132, v);
  }
  /** NVM Subsystem Report (byte 253). */
  get nvmsr(): number {
    return this.u8(253);
  }
  set nvmsr(v: number) {
    this.setU8(253, v);
  }
  /** VPD Write Cycle Information (byte 254). */
  get vwci(): number {
    return this.u8(254);
  }
  set vwci(v: number) {
    this.setU8(254, v);
  }
  /** Management Endpoint Capabilities (byte 255). */
  get mec(): number {
    return this.u8(255);
  }
  set mec(v: number) {
    this.setU8(255, v);
  }

  // ---- admin command set attributes and optional controller capabilities ----
  /** Optional Admin Command Support (see `Oacs`) (bytes 257:256). */
  get oacs(): number {
    return this.u16(256);
  }
  set oacs(v: number) {
    this.setU16(256, v);
  }
  /** Abort Command Limit, 0's based (byte 258). */
  get acl(): number {
    return this.u8(258);
  }
  set acl(v: number) {
    this.setU8(258, v);
  }
  /** Asynchronous Event Request Limit, 0's based (byte 259). */
  get aerl(): number {
    return this.u8(259);
  }
  set aerl(v: number) {
    this.setU8(259, v);
  }
  /** Firmware Updates (bit 0 slot 1 read only, bits 3:1 number of slots, bit 4 activation without reset) (byte 260). */
  get frmw(): number {
    return this.u8(260);
  }
  set frmw(v: number) {
    this.setU8(260, v);
  }
  /** Log Page Attributes (bit 0 SMART per NS, 1 commands supported and effects, 2 extended data for Get Log Page, 3 telemetry, 4 persistent event) (byte 261). */
  get lpa(): number {
    return this.u8(261);
  }
  set lpa(v: number) {
    this.setU8(261, v);
  }
  /** Error Log Page Entries, 0's based (byte 262). */
  get elpe(): number {
    return this.u8(262);
  }
  set elpe(v: number) {
    this.setU8(262, v);
  }
  /** Number of Power States Support, 0's based (byte 263). */
  get npss(): number {
    return this.u8(263);
  }
  set npss(v: number) {
    this.setU8(263, v);
  }
  /** Admin Vendor Specific Command Configuration (byte 264). */
  get avscc(): number {
    return this.u8(264);
  }
  set avscc(v: number) {
    this.setU8(264, v);
  }
  /** Autonomous Power State Transition Attributes (byte 265). */
  get apsta(): number {
    return this.u8(265);
  }
  set apsta(v: number) {
    this.setU8(265, v);
  }
  /** Warning Composite Temperature Threshold (Kelvin) (bytes 267:266). */
  get wctemp(): number {
    return this.u16(266);
  }
  set wctemp(v: number) {
    this.setU16(266, v);
  }
  /** Critical Composite Temperature Threshold (Kelvin) (bytes 269:268). */
  get cctemp(): number {
    return this.u16(268);
  }
  set cctemp(v: number) {
    this.setU16(268, v);
  }
  /** Maximum Time for Firmware Activation (100 ms units) (bytes 271:270). */
  get mtfa(): number {
    return this.u16(270);
  }
  set mtfa(v: number) {
    this.setU16(270, v);
  }
  /** Host Memory Buffer Preferred Size (4 KiB units) (bytes 275:272). */
  get hmpre(): number {
    return this.u32(272);
  }
  set hmpre(v: number) {
    this.setU32(272, v);
  }
  /** Host Memory Buffer Minimum Size (4 KiB units) (bytes 279:276). */
  get hmmin(): number {
    return this.u32(276);
  }
  set hmmin(v: number) {
    this.setU32(276, v);
  }
  /** Total NVM Capacity in bytes (bytes 295:280). Number accessor is approximate above 2^53. */
  get tnvmcap(): number {
    return this.u64(280) + this.u64(288) * 2 ** 64;
  }
  set tnvmcap(v: number) {
    this.setU128Big(280, BigInt(Math.floor(v)));
  }
  get tnvmcapBig(): bigint {
    return this.u128Big(280);
  }
  set tnvmcapBig(v: bigint) {
    this.setU128Big(280, v);
  }
  /** Unallocated NVM Capacity in bytes (bytes 311:296). Number accessor is approximate above 2^53. */
  get unvmcap(): number {
    return this.u64(296) + this.u64(304) * 2 ** 64;
  }
  set unvmcap(v: number) {
    this.setU128Big(296, BigInt(Math.floor(v)));
  }
  get unvmcapBig(): bigint {
    return this.u128Big(296);
  }
  set unvmcapBig(v: bigint) {
    this.setU128Big(296, v);
  }
  /** Replay Protected Memory Block Support (bytes 315:312). */
  get rpmbs(): number {
    return this.u32(312);
  }
  set rpmbs(v: number) {
    this.setU32(312, v);
  }
  /** Extended Device Self-test Time (minutes) (bytes 317:316). */
  get edstt(): number {
    return this.u16(316);
  }
  set edstt(v: number) {
    this.setU16(316, v);
  }
  /** Device Self-test Options (byte 318). */
  get dsto(): number {
    return this.u8(318);
  }
  set dsto(v: number) {
    this.setU8(318, v);
  }
  /** Firmware Update Granularity (4 KiB units) (byte 319). */
  get fwug(): number {
    return this.u8(319);
  }
  set fwug(v: number) {
    this.setU8(319, v);
  }
  /** Keep Alive Support: granularity in 100 ms units; 0 = unsupported (Linux requires non-zero on fabrics) (bytes 321:320). */
  get kas(): number {
    return this.u16(320);
  }
  set kas(v: number) {
    this.setU16(320, v);
  }
  /** Host Controlled Thermal Management Attributes (bytes 323:322). */
  get hctma(): number {
    return this.u16(322);
  }
  set hctma(v: number) {
    this.setU16(322, v);
  }
  /** Minimum Thermal Management Temperature (bytes 325:324). */
  get mntmt(): number {
    return this.u16(324);
  }
  set mntmt(v: number) {
    this.setU16(324, v);
  }
  /** Maximum Thermal Management Temperature (bytes 327:326). */
  get mxtmt(): number {
    return this.u16(326);
  }
  set mxtmt(v: number) {
    this.setU16(326, v);
  }
  /** Sanitize Capabilities (bytes 331:328). */
  get sanicap(): number {
    return this.u32(328);
  }
  set sanicap(v: number) {
    this.setU32(328, v);
  }
  /** Host Memory Buffer Minimum Descriptor Entry Size (bytes 335:332). */
  get hmminds(): number {
    return this.u32(332);
  }
  set hmminds(v: number) {
    this.setU32(332, v);
  }
  /** Host Memory Maximum Descriptors Entries (bytes 337:336). */
  get hmmaxd(): number {
    return this.u16(336);
  }
  set hmmaxd(v: number) {
    this.setU16(336, v);
  }
  /** NVM Set Identifier Maximum (bytes 339:338). */
  get nsetidmax(): number {
    return this.u16(338);
  }
  set nsetidmax(v: number) {
    this.setU16(338, v);
  }
  /** Endurance Group Identifier Maximum (bytes 341:340). */
  get endgidmax(): number {
    return this.u16(340);
  }
  set endgidmax(v: number) {
    this.setU16(340, v);
  }
  /** ANA Transition Time (seconds) (byte 342). */
  get anatt(): number {
    return this.u8(342);
  }
  set anatt(v: number) {
    this.setU8(342, v);
  }
  /** Asymmetric Namespace Access Capabilities (see `Anacap`) (byte 343). */
  get anacap(): number {
    return this.u8(343);
  }
  set anacap(v: number) {
    this.setU8(343, v);
  }
  /** ANA Group Identifier Maximum (bytes 347:344). */
  get anagrpmax(): number {
    return this.u32(344);
  }
  set anagrpmax(v: number) {
    this.setU32(344, v);
  }
  /** Number of ANA Group Identifiers (bytes 351:348). */
  get nanagrpid(): number {
    return this.u32(348);
  }
  set nanagrpid(v: number) {
    this.setU32(348, v);
  }
  /** Persistent Event Log Size (64 KiB units) (bytes 355:352). */
  get pels(): number {
    return this.u32(352);
  }
  set pels(v: number) {
    this.setU32(352, v);
  }
  /** Domain Identifier (bytes 357:356). */
  get domainId(): number {
    return this.u16(356);
  }
  set domainId(v: number) {
    this.setU16(356, v);
  }
  /** Max Endurance Group Capacity (bytes 383:368). Number accessor is approximate above 2^53. */
  get megcap(): number {
    return this.u64(368) + this.u64(376) * 2 ** 64;
  }
  set megcap(v: number) {
    this.setU128Big(368, BigInt(Math.floor(v)));
  }
  get megcapBig(): bigint {
    return this.u128Big(368);
  }
  set megcapBig(v: bigint) {
    this.setU128Big(368, v);
  }

  // ---- NVM command set attributes ----
  /** Submission Queue Entry Size: bits 3:0 required, 7:4 maximum, as log2 (0x66 for 64 bytes) (byte 512). */
  get sqes(): number {
    return this.u8(512);
  }
  set sqes(v: number) {
    this.setU8(512, v);
  }
  /** Completion Queue Entry Size: bits 3:0 required, 7:4 maximum, as log2 (0x44 for 16 bytes) (byte 513). */
  get cqes(): number {
    return this.u8(513);
  }
  set cqes(v: number) {
    this.setU8(513, v);
  }
  /** Maximum Outstanding Commands (fabrics); never 0 — Linux 6.1 computes MAXCMD-1 (bytes 515:514). */
  get maxcmd(): number {
    return this.u16(514);
  }
  set maxcmd(v: number) {
    this.setU16(514, v);
  }
  /** Number of Namespaces (maximum NSID) (bytes 519:516). */
  get nn(): number {
    return this.u32(516);
  }
  set nn(v: number) {
    this.setU32(516, v);
  }
  /** Optional NVM Command Support (see `Oncs`) (bytes 521:520). */
  get oncs(): number {
    return this.u16(520);
  }
  set oncs(v: number) {
    this.setU16(520, v);
  }
  /** Fused Operation Support (bit 0 Compare and Write) (bytes 523:522). */
  get fuses(): number {
    return this.u16(522);
  }
  set fuses(v: number) {
    this.setU16(522, v);
  }
  /** Format NVM Attributes (byte 524). */
  get fna(): number {
    return this.u8(524);
  }
  set fna(v: number) {
    this.setU8(524, v);
  }
  /** Volatile Write Cache: bit 0 present, bits 2:1 flush with NSID FFFFFFFFh behaviour (byte 525). */
  get vwc(): number {
    return this.u8(525);
  }
  set vwc(v: number) {
    this.setU8(525, v);
  }
  /** Atomic Write Unit Normal, 0's based blocks (bytes 527:526). */
  get awun(): number {
    return this.u16(526);
  }
  set awun(v: number) {
    this.setU16(526, v);
  }
  /** Atomic Write Unit Power Fail, 0's based blocks (bytes 529:528). */
  get awupf(): number {
    return this.u16(528);
  }
  set awupf(v: number) {
    this.setU16(528, v);
  }
  /** I/O Command Set Vendor Specific Command Configuration (NVSCC) (byte 530). */
  get icsvscc(): number {
    return this.u8(530);
  }
  set icsvscc(v: number) {
    this.setU8(530, v);
  }
  /** Namespace Write Protection Capabilities (byte 531). */
  get nwpc(): number {
    return this.u8(531);
  }
  set nwpc(v: number) {
    this.setU8(531, v);
  }
  /** Atomic Compare & Write Unit (bytes 533:532). */
  get acwu(): number {
    return this.u16(532);
  }
  set acwu(v: number) {
    this.setU16(532, v);
  }
  /** Copy Descriptor Formats Supported (bytes 535:534). */
  get ocfs(): number {
    return this.u16(534);
  }
  set ocfs(v: number) {
    this.setU16(534, v);
  }
  /** SGL Support (see `Sgls`); fabrics controllers must report SGL support (bytes 539:536). */
  get sgls(): number {
    return this.u32(536);
  }
  set sgls(v: number) {
    this.setU32(536, v);
  }
  /** Maximum Number of Allowed Namespaces (bytes 543:540). */
  get mnan(): number {
    return this.u32(540);
  }
  set mnan(v: number) {
    this.setU32(540, v);
  }
  /** Maximum Domain Namespace Attachments (bytes 559:544). Number accessor is approximate above 2^53. */
  get maxdna(): number {
    return this.u64(544) + this.u64(552) * 2 ** 64;
  }
  set maxdna(v: number) {
    this.setU128Big(544, BigInt(Math.floor(v)));
  }
  get maxdnaBig(): bigint {
    return this.u128Big(544);
  }
  set maxdnaBig(v: bigint) {
    this.setU128Big(544, v);
  }
  /** Maximum I/O Controller Namespace Attachments (bytes 563:560). */
  get maxcna(): number {
    return this.u32(560);
  }
  set maxcna(v: number) {
    this.setU32(560, v);
  }
  /** NVM Subsystem NVMe Qualified Name (bytes 1023:768), NUL padded. */
  get subnqn(): string {
    return this.str(768, 256);
  }
  set subnqn(v: string) {
    this.setStr(768, 256, v, 'nul');
  }

  // ---- fabrics (NVMe-oF 1.1 Figure 31) ----
  /** I/O Queue Command Capsule Supported Size in 16-byte units (>= 4: the 64-byte SQE) (bytes 1795:1792). */
  get ioccsz(): number {
    return this.u32(1792);
  }
  set ioccsz(v: number) {
    this.setU32(1792, v);
  }
  /** I/O Queue Response Capsule Supported Size in 16-byte units (>= 1) (bytes 1799:1796). */
  get iorcsz(): number {
    return this.u32(1796);
  }
  set iorcsz(v: number) {
    this.setU32(1796, v);
  }
  /** In Capsule Data Offset in 16-byte units (Linux requires 0) (bytes 1801:1800). */
  get icdoff(): number {
    return this.u16(1800);
  }
  set icdoff(v: number) {
    this.setU16(1800, v);
  }
  /** Fabrics Controller Attributes: bit 0 static controller model (byte 1802). */
  get fcatt(): number {
    return this.u8(1802);
  }
  set fcatt(v: number) {
    this.setU8(1802, v);
  }
  /** Maximum SGL Data Block Descriptors (0 = no limit) (byte 1803). */
  get msdbd(): number {
    return this.u8(1803);
  }
  set msdbd(v: number) {
    this.setU8(1803, v);
  }
  /** Optional Fabric Commands Support: bit 0 Disconnect (bytes 1805:1804). */
  get ofcs(): number {
    return this.u16(1804);
  }
  set ofcs(v: number) {
    this.setU16(1804, v);
  }
  /** Discovery Controller Type (see `DiscoveryControllerType`) (byte 1806); Linux reads it into `ctrl->dctype`. */
  get dctype(): number {
    return this.u8(1806);
  }
  set dctype(v: number) {
    this.setU8(1806, v);
  }

  // ---- power state descriptors (bytes 3071:2048, 32 bytes each, Figure 276) ----
  private psdOffset(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i > 31) throw new RangeError(`power state ${i} outside 0..31`);
    return 2048 + i * 32;
  }
  /** Maximum Power of power state `i` (centiwatts, or 0.0001 W when MXPS). */
  psdMp(i: number): number {
    return this.u16(this.psdOffset(i));
  }
  setPsdMp(i: number, v: number): void {
    this.setU16(this.psdOffset(i), v);
  }
  /** Byte 3 of descriptor `i`: bit 0 MXPS, bit 1 NOPS (non-operational). */
  psdFlags(i: number): number {
    return this.u8(this.psdOffset(i) + 3);
  }
  setPsdFlags(i: number, v: number): void {
    this.setU8(this.psdOffset(i) + 3, v);
  }
  /** Entry Latency (µs) of power state `i`. */
  psdEnlat(i: number): number {
    return this.u32(this.psdOffset(i) + 4);
  }
  setPsdEnlat(i: number, v: number): void {
    this.setU32(this.psdOffset(i) + 4, v);
  }
  /** Exit Latency (µs) of power state `i`. */
  psdExlat(i: number): number {
    return this.u32(this.psdOffset(i) + 8);
  }
  setPsdExlat(i: number, v: number): void {
    this.setU32(this.psdOffset(i) + 8, v);
  }
  /** Relative read throughput / latency, relative write throughput / latency (bytes 15:12). */
  psdRelative(i: number): { rrt: number; rrl: number; rwt: number; rwl: number } {
    const o = this.psdOffset(i);
    return { rrt: this.u8(o + 12) & 0x1f, rrl: this.u8(o + 13) & 0x1f, rwt: this.u8(o + 14) & 0x1f, rwl: this.u8(o + 15) & 0x1f };
  }

  /** Vendor Specific area (bytes 4095:3072) as a subarray (no copy). */
  get vs(): Uint8Array {
    return this.buf.subarray(this.offset + 3072, this.offset + 4096);
  }
}

/**
 * I/O Command Set specific Identify Controller for the NVM command set (CNS 06h, CSI 00h,
 * NVM CS 1.0 Figure 98). Linux asks for it on every namespace scan.
 */
export class IdentifyControllerNvmView extends StructView {
  static readonly SIZE = IDENTIFY_DATA_SIZE;
  get byteLength(): number {
    return IDENTIFY_DATA_SIZE;
  }
  /** Verify Size Limit, power of two of CAP.MPSMIN pages; 0 = no limit (byte 0). */
  get vsl(): number {
    return this.u8(0);
  }
  set vsl(v: number) {
    this.setU8(0, v);
  }
  /** Write Zeroes Size Limit (byte 1). */
  get wzsl(): number {
    return this.u8(1);
  }
  set wzsl(v: number) {
    this.setU8(1, v);
  }
  /** Write Uncorrectable Size Limit (byte 2). */
  get wusl(): number {
    return this.u8(2);
  }
  set wusl(v: number) {
    this.setU8(2, v);
  }
  /** Dataset Management Ranges Limit (byte 3). */
  get dmrl(): number {
    return this.u8(3);
  }
  set dmrl(v: number) {
    this.setU8(3, v);
  }
  /** Dataset Management Range Size Limit in logical blocks (bytes 7:4). */
  get dmrsl(): number {
    return this.u32(4);
  }
  set dmrsl(v: number) {
    this.setU32(4, v);
  }
  /** Dataset Management Size Limit in logical blocks (bytes 15:8). */
  get dmsl(): number {
    return this.u64(8);
  }
  set dmsl(v: number) {
    this.setU64(8, v);
  }
  get dmslBig(): bigint {
    return this.u64Big(8);
  }
  set dmslBig(v: bigint) {
    this.setU64Big(8, v);
  }
}
