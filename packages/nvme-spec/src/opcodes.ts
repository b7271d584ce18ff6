/**
 * Command opcodes. NVMe Base 2.0 §5 (Figure 138, admin), NVM Command Set 1.0 §3 (Figure 16, I/O),
 * NVMe over Fabrics 1.1 §6 (fabrics command types). Values checked against SPDK nvme_spec.h /
 * nvmf_spec.h and Linux include/linux/nvme.h.
 */

/** Admin command set opcodes (NVMe Base 2.0 Figure 138). */
export const AdminOpcode = {
  DeleteIoSq: 0x00,
  CreateIoSq: 0x01,
  GetLogPage: 0x02,
  DeleteIoCq: 0x04,
  CreateIoCq: 0x05,
  Identify: 0x06,
  Abort: 0x08,
  SetFeatures: 0x09,
  GetFeatures: 0x0a,
  AsyncEventRequest: 0x0c,
  NamespaceManagement: 0x0d,
  FirmwareCommit: 0x10,
  FirmwareImageDownload: 0x11,
  DeviceSelfTest: 0x14,
  NamespaceAttachment: 0x15,
  KeepAlive: 0x18,
  DirectiveSend: 0x19,
  DirectiveReceive: 0x1a,
  VirtualizationManagement: 0x1c,
  NvmeMiSend: 0x1d,
  NvmeMiReceive: 0x1e,
  DoorbellBufferConfig: 0x7c,
  FabricsCommand: 0x7f,
  FormatNvm: 0x80,
  SecuritySend: 0x81,
  SecurityReceive: 0x82,
  Sanitize: 0x84,
  GetLbaStatus: 0x86,
} as const;
export type AdminOpcode = (typeof AdminOpcode)[keyof typeof AdminOpcode];

/** NVM command set I/O opcodes (NVM Command Set 1.0 Figure 16; ZNS 1.1 for zone ones). */
export const NvmOpcode = {
  Flush: 0x00,
  Write: 0x01,
  Read: 0x02,
  WriteUncorrectable: 0x04,
  Compare: 0x05,
  WriteZeroes: 0x08,
  DatasetManagement: 0x09,
  Verify: 0x0c,
  ReservationRegister: 0x0d,
  ReservationReport: 0x0e,
  ReservationAcquire: 0x11,
  ReservationRelease: 0x15,
  Copy: 0x19,
  ZoneManagementSend: 0x79,
  ZoneManagementReceive: 0x7a,
  FabricsCommand: 0x7f,
  ZoneAppend: 0x7d,
} as const;
export type NvmOpcode = (typeof NvmOpcode)[keyof typeof NvmOpcode];

/** Opcode of every fabrics command capsule (NVMe-oF 1.1 §6.1), on admin and I/O queues. */
export const FABRICS_OPCODE = 0x7f;

/** Fabrics command types, SQE byte 4 `fctype` (NVMe-oF 1.1 Figure 20 / NVMe Base 2.0 §6). */
export const FabricsCommandType = {
  PropertySet: 0x00,
  Connect: 0x01,
  PropertyGet: 0x04,
  AuthenticationSend: 0x05,
  AuthenticationReceive: 0x06,
  Disconnect: 0x08,
} as const;
export type FabricsCommandType = (typeof FabricsCommandType)[keyof typeof FabricsCommandType];

/**
 * Data transfer direction, taken from opcode bits 1:0 (NVMe Base 2.0 Figure 89). For fabrics
 * commands the same rule applies to `fctype` (NVMe-oF 1.1 §6.1).
 */
export const DataTransfer = {
  None: 0,
  HostToController: 1,
  ControllerToHost: 2,
  Bidirectional: 3,
} as const;
export type DataTransfer = (typeof DataTransfer)[keyof typeof DataTransfer];

/** Direction of data for an opcode (or a fabrics `fctype`): its low two bits. */
export function dataTransfer(opcodeOrFctype: number): DataTransfer {
  return (opcodeOrFctype & 3) as DataTransfer;
}

function invert(o: Record<string, number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) if (!m.has(v)) m.set(v, k);
  return m;
}
const adminNames = invert(AdminOpcode);
const nvmNames = invert(NvmOpcode);
const fabricsNames = invert(FabricsCommandType);

/** Which command set an opcode belongs to: admin queue (qid 0) or the NVM I/O command set. */
export type OpcodeSet = 'admin' | 'nvm';

/**
 * Human-readable name for an opcode, e.g. `opcodeName('admin', 0x06)` → `"Identify"`. For the
 * fabrics opcode pass `fctype` to get e.g. `"Fabrics.Connect"`. Unknown values give
 * `"Unknown(0xNN)"`; vendor-specific opcodes (0xc0..0xff) give `"VendorSpecific(0xNN)"`.
 */
export function opcodeName(set: OpcodeSet, opcode: number, fctype?: number): string {
  if (opcode === FABRICS_OPCODE) {
    if (fctype === undefined) return 'FabricsCommand';
    return `Fabrics.${fabricsNames.get(fctype) ?? `Unknown(0x${hex2(fctype)})`}`;
  }
  const n = (set === 'admin' ? adminNames : nvmNames).get(opcode);
  if (n !== undefined) return n;
  if (opcode >= 0xc0) return `VendorSpecific(0x${hex2(opcode)})`;
  return `Unknown(0x${hex2(opcode)})`;
}

/** Name of a fabrics command type, e.g. `"Connect"`. */
export function fabricsCommandTypeName(fctype: number): string {
  return fabricsNames.get(fctype) ?? `Unknown(0x${hex2(fctype)})`;
}

export function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}
