/**
 * Features (NVMe Base 2.0 §5.27.1): identifiers, Get Features SEL values, and the CDW11 /
 * completion DW0 layouts of the common features. Each `decodeX(dw)` / `encodeX(fields)` pair maps
 * a dword to named fields; unknown bits are dropped.
 */

/** Feature Identifiers (NVMe Base 2.0 Figure 317). */
export const FeatureId = {
  Arbitration: 0x01,
  PowerManagement: 0x02,
  LbaRangeType: 0x03,
  TemperatureThreshold: 0x04,
  ErrorRecovery: 0x05,
  VolatileWriteCache: 0x06,
  NumberOfQueues: 0x07,
  InterruptCoalescing: 0x08,
  InterruptVectorConfiguration: 0x09,
  WriteAtomicityNormal: 0x0a,
  AsyncEventConfiguration: 0x0b,
  AutonomousPowerStateTransition: 0x0c,
  HostMemoryBuffer: 0x0d,
  Timestamp: 0x0e,
  KeepAliveTimer: 0x0f,
  HostControlledThermalManagement: 0x10,
  NonOperationalPowerStateConfig: 0x11,
  ReadRecoveryLevelConfig: 0x12,
  PredictableLatencyModeConfig: 0x13,
  PredictableLatencyModeWindow: 0x14,
  HostBehaviorSupport: 0x16,
  SanitizeConfig: 0x17,
  EnduranceGroupEventConfiguration: 0x18,
  IoCommandSetProfile: 0x19,
  SoftwareProgressMarker: 0x80,
  HostIdentifier: 0x81,
  ReservationNotificationMask: 0x82,
  ReservationPersistence: 0x83,
  NamespaceWriteProtectionConfig: 0x84,
} as const;
export type FeatureId = (typeof FeatureId)[keyof typeof FeatureId];

/** Get Features SEL (CDW10 bits 10:8). */
export const FeatureSelect = {
  Current: 0,
  Default: 1,
  Saved: 2,
  SupportedCapabilities: 3,
} as const;
export type FeatureSelect = (typeof FeatureSelect)[keyof typeof FeatureSelect];

/** Bits of the Get Features SEL=3 (supported capabilities) result. */
export const FeatureCapabilities = {
  Saveable: 1 << 0,
  NamespaceSpecific: 1 << 1,
  Changeable: 1 << 2,
} as const;

/** Arbitration (01h): AB bits 2:0 (burst, 2^n; 7 = no limit), LPW 15:8, MPW 23:16, HPW 31:24. */
export interface Arbitration {
  ab: number;
  lpw: number;
  mpw: number;
  hpw: number;
}
export function decodeArbitration(dw: number): Arbitration {
  return { ab: dw & 0x7, lpw: (dw >>> 8) & 0xff, mpw: (dw >>> 16) & 0xff, hpw: (dw >>> 24) & 0xff };
}
export function encodeArbitration(f: Partial<Arbitration>): number {
  return (((f.ab ?? 0) & 0x7) | (((f.lpw ?? 0) & 0xff) << 8) | (((f.mpw ?? 0) & 0xff) << 16) | (((f.hpw ?? 0) & 0xff) << 24)) >>> 0;
}

/** Power Management (02h): PS bits 4:0, WH (workload hint) bits 7:5. */
export interface PowerManagement {
  ps: number;
  wh: number;
}
export function decodePowerManagement(dw: number): PowerManagement {
  return { ps: dw & 0x1f, wh: (dw >>> 5) & 0x7 };
}
export function encodePowerManagement(f: Partial<PowerManagement>): number {
  return ((f.ps ?? 0) & 0x1f) | (((f.wh ?? 0) & 0x7) << 5);
}

/** Temperature Threshold (04h): TMPTH 15:0 (Kelvin), TMPSEL 19:16 (0 composite, 1-8 sensors), THSEL 21:20. */
export interface TemperatureThreshold {
  tmpth: number;
  tmpsel: number;
  /** 0 over-temperature threshold, 1 under-temperature threshold. */
  thsel: number;
}
export const ThresholdType = { Over: 0, Under: 1 } as const;
export function decodeTemperatureThreshold(dw: number): TemperatureThreshold {
  return { tmpth: dw & 0xffff, tmpsel: (dw >>> 16) & 0xf, thsel: (dw >>> 20) & 0x3 };
}
export function encodeTemperatureThreshold(f: Partial<TemperatureThreshold>): number {
  return ((f.tmpth ?? 0) & 0xffff) | (((f.tmpsel ?? 0) & 0xf) << 16) | (((f.thsel ?? 0) & 0x3) << 20);
}

/** Error Recovery (05h): TLER 15:0 (100 ms units), DULBE bit 16. */
export interface ErrorRecovery {
  tler: number;
  dulbe: boolean;
}
export function decodeErrorRecovery(dw: number): ErrorRecovery {
  return { tler: dw & 0xffff, dulbe: ((dw >>> 16) & 1) === 1 };
}
export function encodeErrorRecovery(f: Partial<ErrorRecovery>): number {
  return ((f.tler ?? 0) & 0xffff) | (f.dulbe === true ? 1 << 16 : 0);
}

/** Volatile Write Cache (06h): WCE bit 0. */
export function decodeVolatileWriteCache(dw: number): { wce: boolean } {
  return { wce: (dw & 1) === 1 };
}
export function encodeVolatileWriteCache(f: { wce?: boolean }): number {
  return f.wce === true ? 1 : 0;
}

/**
 * Number of Queues (07h): CDW11 NSQR 15:0 and NCQR 31:16 requested; completion DW0 NSQA / NCQA
 * allocated; all 0's based (0xFFFF requested is invalid).
 */
export interface NumberOfQueues {
  /** Submission queues, 0's based. */
  nsq: number;
  /** Completion queues, 0's based. */
  ncq: number;
}
export function decodeNumberOfQueues(dw: number): NumberOfQueues {
  return { nsq: dw & 0xffff, ncq: (dw >>> 16) & 0xffff };
}
export function encodeNumberOfQueues(f: NumberOfQueues): number {
  return ((f.nsq & 0xffff) | ((f.ncq & 0xffff) << 16)) >>> 0;
}

/** Interrupt Coalescing (08h): THR 7:0 (0's based entries), TIME 15:8 (100 µs units). */
export interface InterruptCoalescing {
  thr: number;
  time: number;
}
export function decodeInterruptCoalescing(dw: number): InterruptCoalescing {
  return { thr: dw & 0xff, time: (dw >>> 8) & 0xff };
}
export function encodeInterruptCoalescing(f: Partial<InterruptCoalescing>): number {
  return ((f.thr ?? 0) & 0xff) | (((f.time ?? 0) & 0xff) << 8);
}

/** Interrupt Vector Configuration (09h): IV 15:0, CD (coalescing disable) bit 16. */
export interface InterruptVectorConfig {
  iv: number;
  cd: boolean;
}
export function decodeInterruptVectorConfig(dw: number): InterruptVectorConfig {
  return { iv: dw & 0xffff, cd: ((dw >>> 16) & 1) === 1 };
}
export function encodeInterruptVectorConfig(f: Partial<InterruptVectorConfig>): number {
  return ((f.iv ?? 0) & 0xffff) | (f.cd === true ? 1 << 16 : 0);
}

/** Asynchronous Event Configuration (0Bh) bits. */
export const AsyncEventConfig = {
  /** SMART / Health critical warnings, bits 7:0 (one per CriticalWarning bit). */
  SMART_MASK: 0xff,
  NamespaceAttributeNotices: 1 << 8,
  FirmwareActivationNotices: 1 << 9,
  TelemetryLogNotices: 1 << 10,
  AnaChangeNotices: 1 << 11,
  PredictableLatencyEventNotices: 1 << 12,
  LbaStatusInformationNotices: 1 << 13,
  EnduranceGroupEventNotices: 1 << 14,
  NormalSubsystemShutdownNotices: 1 << 15,
  ZoneDescriptorChangedNotices: 1 << 27,
  DiscoveryLogChangeNotices: 1 << 31,
} as const;

/** Keep Alive Timer (0Fh): KATO in milliseconds (CDW11). Identity helpers for symmetry. */
export function decodeKeepAliveTimer(dw: number): { kato: number } {
  return { kato: dw >>> 0 };
}
export function encodeKeepAliveTimer(f: { kato: number }): number {
  return f.kato >>> 0;
}

/**
 * Host Identifier (81h): CDW11 bit 0 EXHID selects a 128-bit identifier (16 bytes of data) over
 * the 64-bit one (8 bytes). NVMe-oF requires the 128-bit form (the Connect HOSTID).
 */
export function decodeHostIdentifier(dw: number): { exhid: boolean } {
  return { exhid: (dw & 1) === 1 };
}
export function encodeHostIdentifier(f: { exhid: boolean }): number {
  return f.exhid ? 1 : 0;
}
/** Data length of the Host Identifier feature for EXHID. */
export function hostIdentifierLength(exhid: boolean): 8 | 16 {
  return exhid ? 16 : 8;
}

/** Asynchronous Event Type (AER completion DW0 bits 2:0, NVMe Base 2.0 Figure 147). */
export const AsyncEventType = {
  ErrorStatus: 0x0,
  SmartHealthStatus: 0x1,
  Notice: 0x2,
  ImmediateNotice: 0x3,
  OneShotNotice: 0x4,
  IoCommandSpecificStatus: 0x6,
  VendorSpecific: 0x7,
} as const;
export type AsyncEventType = (typeof AsyncEventType)[keyof typeof AsyncEventType];

/** Asynchronous Event Information for the Notice type (Figure 150). */
export const AsyncEventNotice = {
  NamespaceAttributeChanged: 0x00,
  FirmwareActivationStarting: 0x01,
  TelemetryLogChanged: 0x02,
  AnaChange: 0x03,
  PredictableLatencyEventAggregateLogChange: 0x04,
  LbaStatusInformationAlert: 0x05,
  EnduranceGroupEventAggregateLogChange: 0x06,
  ZoneDescriptorChanged: 0xef,
  DiscoveryLogPageChange: 0xf0,
} as const;

/** Asynchronous Event Information for the Error Status type (Figure 148). */
export const AsyncEventError = {
  WriteToInvalidDoorbell: 0x00,
  InvalidDoorbellWriteValue: 0x01,
  DiagnosticFailure: 0x02,
  PersistentInternalError: 0x03,
  TransientInternalError: 0x04,
  FirmwareImageLoadError: 0x05,
} as const;

/** Asynchronous Event Information for the SMART / Health type (Figure 149). */
export const AsyncEventSmart = {
  NvmSubsystemReliability: 0x00,
  TemperatureThreshold: 0x01,
  SpareBelowThreshold: 0x02,
} as const;

/** Asynchronous Event Request completion DW0: type 2:0, info 15:8, log page 23:16. */
export interface AsyncEvent {
  type: number;
  info: number;
  /** Log page to read (with RAE clear) to re-arm this event type. */
  lid: number;
}
export function decodeAsyncEvent(dw0: number): AsyncEvent {
  return { type: dw0 & 0x7, info: (dw0 >>> 8) & 0xff, lid: (dw0 >>> 16) & 0xff };
}
export function encodeAsyncEvent(e: AsyncEvent): number {
  return ((e.type & 0x7) | ((e.info & 0xff) << 8) | ((e.lid & 0xff) << 16)) >>> 0;
}
