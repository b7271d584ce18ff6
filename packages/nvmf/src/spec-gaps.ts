/**
 * Byte offsets of structures @nvmu/nvme-spec did not yet export when this core was written
 * (Identify Controller, Identify Namespace, log pages). Each from the NVMe Base 2.0 / NVM
 * Command Set 1.0 / NVMe-oF 1.1 figure named; checked against Linux include/linux/nvme.h.
 * To be replaced by nvme-spec's views.
 */

/** Identify Controller data structure (NVMe Base 2.0 Figure 275; fabrics fields NVMe-oF 1.1 Figure 23). */
export const IdCtrl = {
  SIZE: 4096,
  VID: 0,
  SSVID: 2,
  SN: 4, // 20 bytes
  MN: 24, // 40 bytes
  FR: 64, // 8 bytes
  RAB: 72,
  IEEE: 73, // 3 bytes
  CMIC: 76,
  MDTS: 77,
  CNTLID: 78,
  VER: 80,
  RTD3R: 84,
  RTD3E: 88,
  OAES: 92,
  CTRATT: 96,
  CNTRLTYPE: 111,
  FGUID: 112, // 16 bytes
  OACS: 256,
  ACL: 258,
  AERL: 259,
  FRMW: 260,
  LPA: 261,
  ELPE: 262,
  NPSS: 263,
  AVSCC: 264,
  APSTA: 265,
  WCTEMP: 266,
  CCTEMP: 268,
  KAS: 320,
  ANATT: 343,
  ANACAP: 344,
  ANAGRPMAX: 345,
  NANAGRPID: 349,
  SQES: 512,
  CQES: 513,
  MAXCMD: 514,
  NN: 516,
  ONCS: 520,
  FUSES: 522,
  FNA: 524,
  VWC: 525,
  AWUN: 526,
  AWUPF: 528,
  ICSVSCC: 530,
  NWPC: 531,
  ACWU: 532,
  SGLS: 536,
  MNAN: 540,
  SUBNQN: 768, // 256 bytes
  IOCCSZ: 1792,
  IORCSZ: 1796,
  ICDOFF: 1800,
  FCATT: 1802,
  MSDBD: 1803,
  OFCS: 1804,
  PSD0: 2048, // 32 bytes per power state descriptor
} as const;

/** Identify Namespace data structure for the NVM command set (NVM Command Set 1.0 Figure 97). */
export const IdNs = {
  SIZE: 4096,
  NSZE: 0,
  NCAP: 8,
  NUSE: 16,
  NSFEAT: 24,
  NLBAF: 25,
  FLBAS: 26,
  MC: 27,
  DPC: 28,
  DPS: 29,
  NMIC: 30,
  RESCAP: 31,
  FPI: 32,
  DLFEAT: 33,
  NAWUN: 34,
  NAWUPF: 36,
  NACWU: 38,
  NOIOB: 46,
  NVMCAP: 48,
  ANAGRPID: 92,
  NSATTR: 99,
  NGUID: 104,
  EUI64: 120,
  /** LBA Format 0: MS bits 15:0, LBADS bits 23:16, RP bits 25:24. */
  LBAF0: 128,
} as const;

/** Namespace Identification Descriptor types (NVMe Base 2.0 Figure 277). */
export const NidType = {
  Eui64: 1,
  Nguid: 2,
  Uuid: 3,
  Csi: 4,
} as const;

/** Identify CNS values (NVMe Base 2.0 Figure 273). */
export const Cns = {
  Namespace: 0x00,
  Controller: 0x01,
  ActiveNamespaceList: 0x02,
  NamespaceIdDescriptors: 0x03,
  IoCommandSetNamespace: 0x05,
  IoCommandSetController: 0x06,
  IoCommandSetActiveNamespaceList: 0x07,
  IoCommandSetIndependentNamespace: 0x08,
} as const;

/** Log page identifiers (NVMe Base 2.0 Figure 202; NVMe-oF discovery 70h). */
export const LogPage = {
  ErrorInformation: 0x01,
  SmartHealth: 0x02,
  FirmwareSlot: 0x03,
  ChangedNamespaceList: 0x04,
  CommandsSupportedAndEffects: 0x05,
  Ana: 0x0c,
  Discovery: 0x70,
} as const;

/** Feature identifiers (NVMe Base 2.0 Figure 294). */
export const FeatureId = {
  Arbitration: 0x01,
  PowerManagement: 0x02,
  TemperatureThreshold: 0x04,
  ErrorRecovery: 0x05,
  VolatileWriteCache: 0x06,
  NumberOfQueues: 0x07,
  InterruptCoalescing: 0x08,
  InterruptVectorConfiguration: 0x09,
  WriteAtomicityNormal: 0x0a,
  AsyncEventConfiguration: 0x0b,
  AutonomousPowerStateTransition: 0x0c,
  KeepAliveTimer: 0x0f,
  HostIdentifier: 0x81,
} as const;
