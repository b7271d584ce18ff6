/**
 * Log pages (NVMe Base 2.0 §5.16.1): identifiers, Error Information (01h, Figure 205), SMART /
 * Health (02h, Figure 207), Firmware Slot (03h, Figure 209), Changed Namespace List (04h, use
 * `encodeNsList`), Commands Supported and Effects (05h, Figures 210-211), Asymmetric Namespace
 * Access (0Ch, Figures 222-223). The Discovery log (70h) is in discovery.ts.
 */
import { StructView } from './view.js';

/** Log Page Identifiers (NVMe Base 2.0 Figure 202). */
export const LogPageId = {
  SupportedLogPages: 0x00,
  ErrorInformation: 0x01,
  SmartHealth: 0x02,
  FirmwareSlot: 0x03,
  ChangedNamespaceList: 0x04,
  CommandsSupportedAndEffects: 0x05,
  DeviceSelfTest: 0x06,
  TelemetryHostInitiated: 0x07,
  TelemetryControllerInitiated: 0x08,
  EnduranceGroupInformation: 0x09,
  PredictableLatencyPerNvmSet: 0x0a,
  PredictableLatencyEventAggregate: 0x0b,
  AsymmetricNamespaceAccess: 0x0c,
  PersistentEventLog: 0x0d,
  EnduranceGroupEventAggregate: 0x0f,
  MediaUnitStatus: 0x10,
  SupportedCapacityConfigurationList: 0x11,
  FeatureIdentifiersSupportedAndEffects: 0x12,
  NvmeMiCommandsSupportedAndEffects: 0x13,
  CommandAndFeatureLockdown: 0x14,
  BootPartition: 0x15,
  RotationalMediaInformation: 0x16,
  Discovery: 0x70,
  ReservationNotification: 0x80,
  SanitizeStatus: 0x81,
} as const;
export type LogPageId = (typeof LogPageId)[keyof typeof LogPageId];

/** One Error Information log entry: 64 bytes. */
export class ErrorInformationEntryView extends StructView {
  static readonly SIZE = 64;
  get byteLength(): number {
    return ErrorInformationEntryView.SIZE;
  }
  /** Error Count: unique, incrementing identifier of this error (0 = empty entry) (bytes 7:0). */
  get errorCount(): number {
    return this.u64(0);
  }
  set errorCount(v: number) {
    this.setU64(0, v);
  }
  get errorCountBig(): bigint {
    return this.u64Big(0);
  }
  set errorCountBig(v: bigint) {
    this.setU64Big(0, v);
  }
  /** Submission Queue ID of the failed command (bytes 9:8). */
  get sqid(): number {
    return this.u16(8);
  }
  set sqid(v: number) {
    this.setU16(8, v);
  }
  /** Command ID of the failed command (bytes 11:10). */
  get cid(): number {
    return this.u16(10);
  }
  set cid(v: number) {
    this.setU16(10, v);
  }
  /** Status Field: bits 15:1 the packed status, bit 0 the phase tag (bytes 13:12). */
  get statusField(): number {
    return this.u16(12);
  }
  set statusField(v: number) {
    this.setU16(12, v);
  }
  /** Parameter Error Location: bits 7:0 byte, bits 10:8 bit (bytes 15:14). */
  get parameterErrorLocation(): number {
    return this.u16(14);
  }
  set parameterErrorLocation(v: number) {
    this.setU16(14, v);
  }
  /** LBA of the first failing block (bytes 23:16). */
  get lba(): number {
    return this.u64(16);
  }
  set lba(v: number) {
    this.setU64(16, v);
  }
  get lbaBig(): bigint {
    return this.u64Big(16);
  }
  set lbaBig(v: bigint) {
    this.setU64Big(16, v);
  }
  /** Namespace (bytes 27:24). */
  get nsid(): number {
    return this.u32(24);
  }
  set nsid(v: number) {
    this.setU32(24, v);
  }
  /** Vendor Specific Information Available (log page id) (byte 28). */
  get vendorSpecificInfo(): number {
    return this.u8(28);
  }
  set vendorSpecificInfo(v: number) {
    this.setU8(28, v);
  }
  /** Transport Type of the transport-specific information (byte 29). */
  get trtype(): number {
    return this.u8(29);
  }
  set trtype(v: number) {
    this.setU8(29, v);
  }
  /** Command Specific Information (bytes 39:32). */
  get commandSpecificInfo(): number {
    return this.u64(32);
  }
  set commandSpecificInfo(v: number) {
    this.setU64(32, v);
  }
  get commandSpecificInfoBig(): bigint {
    return this.u64Big(32);
  }
  set commandSpecificInfoBig(v: bigint) {
    this.setU64Big(32, v);
  }
  /** Transport Type Specific Information (bytes 41:40). */
  get transportSpecificInfo(): number {
    return this.u16(40);
  }
  set transportSpecificInfo(v: number) {
    this.setU16(40, v);
  }
}

/** SMART / Health critical warning bits (byte 0). */
export const CriticalWarning = {
  AvailableSpare: 1 << 0,
  Temperature: 1 << 1,
  Reliability: 1 << 2,
  ReadOnly: 1 << 3,
  VolatileMemoryBackup: 1 << 4,
  PersistentMemoryRegion: 1 << 5,
} as const;

/** SMART / Health Information log page: 512 bytes. */
export class SmartLogView extends StructView {
  static readonly SIZE = 512;
  get byteLength(): number {
    return SmartLogView.SIZE;
  }
  /** Critical Warning bits (see `CriticalWarning`) (byte 0). */
  get criticalWarning(): number {
    return this.u8(0);
  }
  set criticalWarning(v: number) {
    this.setU8(0, v);
  }
  /** Composite Temperature (Kelvin) (bytes 2:1). */
  get compositeTemperature(): number {
    return this.u16(1);
  }
  set compositeTemperature(v: number) {
    this.setU16(1, v);
  }
  /** Available Spare (percent) (byte 3). */
  get availableSpare(): number {
    return this.u8(3);
  }
  set availableSpare(v: number) {
    this.setU8(3, v);
  }
  /** Available Spare Threshold (percent) (byte 4). */
  get availableSpareThreshold(): number {
    return this.u8(4);
  }
  set availableSpareThreshold(v: number) {
    this.setU8(4, v);
  }
  /** Percentage Used (byte 5). */
  get percentageUsed(): number {
    return this.u8(5);
  }
  set percentageUsed(v: number) {
    this.setU8(5, v);
  }
  /** Endurance Group Critical Warning Summary (byte 6). */
  get enduranceGroupCriticalWarning(): number {
    return this.u8(6);
  }
  set enduranceGroupCriticalWarning(v: number) {
    this.setU8(6, v);
  }
  /** Data Units Read (1000 × 512 bytes) (bytes 47:32). Number accessor is approximate above 2^53. */
  get dataUnitsRead(): number {
    return this.u64(32) + this.u64(40) * 2 ** 64;
  }
  set dataUnitsRead(v: number) {
    this.setU128Big(32, BigInt(Math.floor(v)));
  }
  get dataUnitsReadBig(): bigint {
    return this.u128Big(32);
  }
  set dataUnitsReadBig(v: bigint) {
    this.setU128Big(32, v);
  }
  /** Data Units Written (1000 × 512 bytes) (bytes 63:48). Number accessor is approximate above 2^53. */
  get dataUnitsWritten(): number {
    return this.u64(48) + this.u64(56) * 2 ** 64;
  }
  set dataUnitsWritten(v: number) {
    this.setU128Big(48, BigInt(Math.floor(v)));
  }
  get dataUnitsWrittenBig(): bigint {
    return this.u128Big(48);
  }
  set dataUnitsWrittenBig(v: bigint) {
    this.setU128Big(48, v);
  }
  /** Host Read Commands (bytes 79:64). Number accessor is approximate above 2^53. */
  get hostReadCommands(): number {
    return this.u64(64) + this.u64(72) * 2 ** 64;
  }
  set hostReadCommands(v: number) {
    this.setU128Big(64, BigInt(Math.floor(v)));
  }
  get hostReadCommandsBig(): bigint {
    return this.u128Big(64);
  }
  set hostReadCommandsBig(v: bigint) {
    this.setU128Big(64, v);
  }
  /** Host Write Commands (bytes 95:80). Number accessor is approximate above 2^53. */
  get hostWriteCommands(): number {
    return this.u64(80) + this.u64(88) * 2 ** 64;
  }
  set hostWriteCommands(v: number) {
    this.setU128Big(80, BigInt(Math.floor(v)));
  }
  get hostWriteCommandsBig(): bigint {
    return this.u128Big(80);
  }
  set hostWriteCommandsBig(v: bigint) {
    this.setU128Big(80, v);
  }
  /** Controller Busy Time (minutes) (bytes 111:96). Number accessor is approximate above 2^53. */
  get controllerBusyTime(): number {
    return this.u64(96) + this.u64(104) * 2 ** 64;
  }
  set controllerBusyTime(v: number) {
    this.setU128Big(96, BigInt(Math.floor(v)));
  }
  get controllerBusyTimeBig(): bigint {
    return this.u128Big(96);
  }
  set controllerBusyTimeBig(v: bigint) {
    this.setU128Big(96, v);
  }
  /** Power Cycles (bytes 127:112). Number accessor is approximate above 2^53. */
  get powerCycles(): number {
    return this.u64(112) + this.u64(120) * 2 ** 64;
  }
  set powerCycles(v: number) {
    this.setU128Big(112, BigInt(Math.floor(v)));
  }
  get powerCyclesBig(): bigint {
    return this.u128Big(112);
  }
  set powerCyclesBig(v: bigint) {
    this.setU128Big(112, v);
  }
  /** Power On Hours (bytes 143:128). Number accessor is approximate above 2^53. */
  get powerOnHours(): number {
    return this.u64(128) + this.u64(136) * 2 ** 64;
  }
  set powerOnHours(v: number) {
    this.setU128Big(128, BigInt(Math.floor(v)));
  }
  get powerOnHoursBig(): bigint {
    return this.u128Big(128);
  }
  set powerOnHoursBig(v: bigint) {
    this.setU128Big(128, v);
  }
  /** Unsafe Shutdowns (bytes 159:144). Number accessor is approximate above 2^53. */
  get unsafeShutdowns(): number {
    return this.u64(144) + this.u64(152) * 2 ** 64;
  }
  set unsafeShutdowns(v: number) {
    this.setU128Big(144, BigInt(Math.floor(v)));
  }
  get unsafeShutdownsBig(): bigint {
    return this.u128Big(144);
  }
  set unsafeShutdownsBig(v: bigint) {
    this.setU128Big(144, v);
  }
  /** Media and Data Integrity Errors (bytes 175:160). Number accessor is approximate above 2^53. */
  get mediaErrors(): number {
    return this.u64(160) + this.u64(168) * 2 ** 64;
  }
  set mediaErrors(v: number) {
    this.setU128Big(160, BigInt(Math.floor(v)));
  }
  get mediaErrorsBig(): bigint {
    return this.u128Big(160);
  }
  set mediaErrorsBig(v: bigint) {
    this.setU128Big(160, v);
  }
  /** Number of Error Information Log Entries (bytes 191:176). Number accessor is approximate above 2^53. */
  get numErrLogEntries(): number {
    return this.u64(176) + this.u64(184) * 2 ** 64;
  }
  set numErrLogEntries(v: number) {
    this.setU128Big(176, BigInt(Math.floor(v)));
  }
  get numErrLogEntriesBig(): bigint {
    return this.u128Big(176);
  }
  set numErrLogEntriesBig(v: bigint) {
    this.setU128Big(176, v);
  }
  /** Warning Composite Temperature Time (minutes) (bytes 195:192). */
  get warningTempTime(): number {
    return this.u32(192);
  }
  set warningTempTime(v: number) {
    this.setU32(192, v);
  }
  /** Critical Composite Temperature Time (minutes) (bytes 199:196). */
  get criticalCompTime(): number {
    return this.u32(196);
  }
  set criticalCompTime(v: number) {
    this.setU32(196, v);
  }
  /** Thermal Management Temperature 1 Transition Count (bytes 219:216). */
  get thm1TransCount(): number {
    return this.u32(216);
  }
  set thm1TransCount(v: number) {
    this.setU32(216, v);
  }
  /** Thermal Management Temperature 2 Transition Count (bytes 223:220). */
  get thm2TransCount(): number {
    return this.u32(220);
  }
  set thm2TransCount(v: number) {
    this.setU32(220, v);
  }
  /** Total Time For Thermal Management Temperature 1 (s) (bytes 227:224). */
  get thm1TotalTime(): number {
    return this.u32(224);
  }
  set thm1TotalTime(v: number) {
    this.setU32(224, v);
  }
  /** Total Time For Thermal Management Temperature 2 (s) (bytes 231:228). */
  get thm2TotalTime(): number {
    return this.u32(228);
  }
  set thm2TotalTime(v: number) {
    this.setU32(228, v);
  }
  /** Temperature Sensor `n` (1..8) in Kelvin, 0 = not implemented (bytes 200 + 2(n-1)). */
  temperatureSensor(n: number): number {
    return this.u16(this.sensorOffset(n));
  }
  setTemperatureSensor(n: number, kelvin: number): void {
    this.setU16(this.sensorOffset(n), kelvin);
  }
  private sensorOffset(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 8) throw new RangeError(`temperature sensor ${n} outside 1..8`);
    return 200 + (n - 1) * 2;
  }
}

/** Firmware Slot Information log page: 512 bytes. */
export class FirmwareSlotLogView extends StructView {
  static readonly SIZE = 512;
  get byteLength(): number {
    return FirmwareSlotLogView.SIZE;
  }
  /** Active Firmware Info: bits 2:0 active slot, bits 6:4 slot activated at next reset (byte 0). */
  get afi(): number {
    return this.u8(0);
  }
  set afi(v: number) {
    this.setU8(0, v);
  }
  /** Firmware revision in slot `slot` (1..7), 8 ASCII bytes at 8 × slot. */
  frs(slot: number): string {
    return this.str(this.slotOffset(slot), 8);
  }
  setFrs(slot: number, revision: string): void {
    this.setStr(this.slotOffset(slot), 8, revision, 'space');
  }
  private slotOffset(slot: number): number {
    if (!Number.isInteger(slot) || slot < 1 || slot > 7) throw new RangeError(`firmware slot ${slot} outside 1..7`);
    return 8 * slot;
  }
}

/** Commands Supported and Effects data structure bits (Figure 211). */
export const CommandEffects = {
  /** Command Supported. */
  CSUPP: 1 << 0,
  /** Logical Block Content Change. */
  LBCC: 1 << 1,
  /** Namespace Capability Change. */
  NCC: 1 << 2,
  /** Namespace Inventory Change. */
  NIC: 1 << 3,
  /** Controller Capability Change. */
  CCC: 1 << 4,
  /** Command Submission and Execution, bits 18:16 (0 none, 1 per namespace, 2 per controller). */
  CSE_SHIFT: 16,
  CSE_MASK: 0x7 << 16,
  /** UUID Selection Supported. */
  USS: 1 << 19,
} as const;

/** Commands Supported and Effects log page (05h): 4096 bytes, admin then I/O opcodes. */
export class CommandsEffectsLogView extends StructView {
  static readonly SIZE = 4096;
  get byteLength(): number {
    return CommandsEffectsLogView.SIZE;
  }
  /** Admin Command Supported entry for `opcode` (bytes 4 × opcode). */
  acs(opcode: number): number {
    return this.u32((opcode & 0xff) * 4);
  }
  setAcs(opcode: number, effects: number): void {
    this.setU32((opcode & 0xff) * 4, effects);
  }
  /** I/O Command Supported entry for `opcode` (bytes 1024 + 4 × opcode). */
  iocs(opcode: number): number {
    return this.u32(1024 + (opcode & 0xff) * 4);
  }
  setIocs(opcode: number, effects: number): void {
    this.setU32(1024 + (opcode & 0xff) * 4, effects);
  }
}

/** Supported Log Pages (LID 00h, NVMe Base 2.0 Figure 204): one dword per LID. */
export class SupportedLogPagesView extends StructView {
  static readonly SIZE = 1024;
  /** LID Supported (bit 0) and Index Offset Supported (bit 1) of each entry. */
  static readonly LSUPP = 1 << 0;
  static readonly IOS = 1 << 1;
  get byteLength(): number {
    return SupportedLogPagesView.SIZE;
  }
  /** Entry for log page `lid` (bytes 4 × lid). */
  entry(lid: number): number {
    return this.u32((lid & 0xff) * 4);
  }
  setEntry(lid: number, v: number): void {
    this.setU32((lid & 0xff) * 4, v);
  }
}

/** ANA states (Figure 223). */
export const AnaState = {
  Optimized: 0x1,
  NonOptimized: 0x2,
  Inaccessible: 0x3,
  PersistentLoss: 0x4,
  Change: 0xf,
} as const;
export type AnaState = (typeof AnaState)[keyof typeof AnaState];

/** Get Log Page LSP bit 0 for the ANA log: Return Groups Only (no NSID lists). */
export const ANA_LSP_RGO = 0x1;

export interface AnaGroupDescriptor {
  anagrpid: number;
  /** Change count of this group (number; exact below 2^53). */
  chgcnt: number;
  state: number;
  nsids: readonly number[];
}

export interface AnaLog {
  chgcnt: number;
  groups: AnaGroupDescriptor[];
}

/** Bytes the ANA log takes: 16-byte header, 32 bytes per group, 4 per NSID (none with RGO). */
export function anaLogSize(groups: readonly AnaGroupDescriptor[], rgo = false): number {
  let n = 16;
  for (const g of groups) n += 32 + (rgo ? 0 : 4 * g.nsids.length);
  return n;
}

/** Write an ANA log page; the buffer must hold `anaLogSize()` bytes. Returns the size written. */
export function encodeAnaLog(buf: Uint8Array, log: { chgcnt: number; groups: readonly AnaGroupDescriptor[] }, rgo = false, offset = 0): number {
  const size = anaLogSize(log.groups, rgo);
  if (offset + size > buf.byteLength) throw new RangeError(`ANA log needs ${size} bytes`);
  buf.fill(0, offset, offset + size);
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, size);
  const set64 = (o: number, v: number): void => {
    dv.setUint32(o, v % 0x1_0000_0000 >>> 0, true);
    dv.setUint32(o + 4, Math.floor(v / 0x1_0000_0000) >>> 0, true);
  };
  set64(0, log.chgcnt);
  dv.setUint16(8, log.groups.length, true);
  let o = 16;
  for (const g of log.groups) {
    dv.setUint32(o, g.anagrpid >>> 0, true);
    dv.setUint32(o + 4, rgo ? 0 : g.nsids.length, true);
    set64(o + 8, g.chgcnt);
    dv.setUint8(o + 16, g.state & 0xf);
    o += 32;
    if (!rgo) {
      for (const nsid of g.nsids) {
        dv.setUint32(o, nsid >>> 0, true);
        o += 4;
      }
    }
  }
  return size;
}

/** Read an ANA log page; stops at the end of the buffer (truncated reads are normal). */
export function decodeAnaLog(buf: Uint8Array, offset = 0): AnaLog {
  const len = Math.max(0, buf.byteLength - offset);
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, len);
  if (len < 16) return { chgcnt: 0, groups: [] };
  const get64 = (o: number): number => dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 0x1_0000_0000;
  const n = dv.getUint16(8, true);
  const groups: AnaGroupDescriptor[] = [];
  let o = 16;
  for (let i = 0; i < n && o + 32 <= len; i++) {
    const count = dv.getUint32(o + 4, true);
    const nsids: number[] = [];
    const g = { anagrpid: dv.getUint32(o, true), chgcnt: get64(o + 8), state: dv.getUint8(o + 16) & 0xf, nsids };
    o += 32;
    for (let j = 0; j < count && o + 4 <= len; j++, o += 4) nsids.push(dv.getUint32(o, true));
    groups.push(g);
  }
  return { chgcnt: get64(0), groups };
}
