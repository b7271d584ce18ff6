/**
 * Completion status: Status Code Type (SCT) and Status Code (SC), plus the CRD, More and DNR
 * bits. NVMe Base 2.0 §4.6.1 (Figure 101 status field, Figures 102-106 codes); NVMe-oF 1.1 §6
 * (fabrics command specific codes). Values checked against SPDK nvme_spec.h / nvmf_spec.h.
 *
 * The packed 15-bit "status" used by this package (and Linux) is CQE DW3 bits 31:17, i.e. the
 * 16-bit status halfword shifted right by one to drop the phase tag:
 *   bits 7:0 SC, 10:8 SCT, 12:11 CRD, 13 More, 14 DNR.
 */
import { FABRICS_OPCODE, hex2 } from './opcodes.js';

export const StatusCodeType = {
  Generic: 0x0,
  CommandSpecific: 0x1,
  MediaError: 0x2,
  Path: 0x3,
  VendorSpecific: 0x7,
} as const;
export type StatusCodeType = (typeof StatusCodeType)[keyof typeof StatusCodeType];

/** SCT 0h: Generic Command Status (NVMe Base 2.0 Figure 102; NVM CS Figure 18 for 0x80+). */
export const GenericStatus = {
  Success: 0x00,
  InvalidOpcode: 0x01,
  InvalidField: 0x02,
  CommandIdConflict: 0x03,
  DataTransferError: 0x04,
  AbortedPowerLoss: 0x05,
  InternalError: 0x06,
  AbortedByRequest: 0x07,
  AbortedSqDeletion: 0x08,
  AbortedFailedFused: 0x09,
  AbortedMissingFused: 0x0a,
  InvalidNamespaceOrFormat: 0x0b,
  CommandSequenceError: 0x0c,
  InvalidSglSegmentDescriptor: 0x0d,
  InvalidNumberOfSglDescriptors: 0x0e,
  DataSglLengthInvalid: 0x0f,
  MetadataSglLengthInvalid: 0x10,
  SglDescriptorTypeInvalid: 0x11,
  InvalidUseOfCmb: 0x12,
  InvalidPrpOffset: 0x13,
  AtomicWriteUnitExceeded: 0x14,
  OperationDenied: 0x15,
  InvalidSglOffset: 0x16,
  HostIdInconsistentFormat: 0x18,
  KeepAliveExpired: 0x19,
  KeepAliveInvalid: 0x1a,
  AbortedPreempt: 0x1b,
  SanitizeFailed: 0x1c,
  SanitizeInProgress: 0x1d,
  SglDataBlockGranularityInvalid: 0x1e,
  CommandNotSupportedForCmb: 0x1f,
  NamespaceWriteProtected: 0x20,
  CommandInterrupted: 0x21,
  TransientTransportError: 0x22,
  ProhibitedByLockdown: 0x23,
  AdminCommandMediaNotReady: 0x24,
  // NVM command set specific codes in the generic SCT.
  LbaOutOfRange: 0x80,
  CapacityExceeded: 0x81,
  NamespaceNotReady: 0x82,
  ReservationConflict: 0x83,
  FormatInProgress: 0x84,
} as const;
export type GenericStatus = (typeof GenericStatus)[keyof typeof GenericStatus];

/** SCT 1h: Command Specific Status (NVMe Base 2.0 Figure 103; NVM CS Figure 19 for 0x80+). */
export const CommandSpecificStatus = {
  CompletionQueueInvalid: 0x00,
  InvalidQueueIdentifier: 0x01,
  InvalidQueueSize: 0x02,
  AbortCommandLimitExceeded: 0x03,
  AsyncEventRequestLimitExceeded: 0x05,
  InvalidFirmwareSlot: 0x06,
  InvalidFirmwareImage: 0x07,
  InvalidInterruptVector: 0x08,
  InvalidLogPage: 0x09,
  InvalidFormat: 0x0a,
  FirmwareRequiresConventionalReset: 0x0b,
  InvalidQueueDeletion: 0x0c,
  FeatureIdNotSaveable: 0x0d,
  FeatureNotChangeable: 0x0e,
  FeatureNotNamespaceSpecific: 0x0f,
  FirmwareRequiresNvmReset: 0x10,
  FirmwareRequiresReset: 0x11,
  FirmwareRequiresMaxTimeViolation: 0x12,
  FirmwareActivationProhibited: 0x13,
  OverlappingRange: 0x14,
  NamespaceInsufficientCapacity: 0x15,
  NamespaceIdUnavailable: 0x16,
  NamespaceAlreadyAttached: 0x18,
  NamespaceIsPrivate: 0x19,
  NamespaceNotAttached: 0x1a,
  ThinProvisioningNotSupported: 0x1b,
  ControllerListInvalid: 0x1c,
  DeviceSelfTestInProgress: 0x1d,
  BootPartitionWriteProhibited: 0x1e,
  InvalidControllerId: 0x1f,
  InvalidSecondaryControllerState: 0x20,
  InvalidNumberOfControllerResources: 0x21,
  InvalidResourceId: 0x22,
  SanitizeProhibited: 0x23,
  AnaGroupIdentifierInvalid: 0x24,
  AnaAttachFailed: 0x25,
  InsufficientCapacity: 0x26,
  NamespaceAttachLimitExceeded: 0x27,
  ProhibitCommandExecutionNotSupported: 0x28,
  IoCommandSetNotSupported: 0x29,
  IoCommandSetNotEnabled: 0x2a,
  IoCommandSetCombinationRejected: 0x2b,
  InvalidIoCommandSet: 0x2c,
  IdentifierUnavailable: 0x2d,
  // NVM command set specific (opcodes other than the fabrics one).
  ConflictingAttributes: 0x80,
  InvalidProtectionInformation: 0x81,
  AttemptedWriteToReadOnlyRange: 0x82,
  CommandSizeLimitExceeded: 0x83,
  ZoneBoundaryError: 0xb8,
  ZoneIsFull: 0xb9,
  ZoneIsReadOnly: 0xba,
  ZoneIsOffline: 0xbb,
  ZoneInvalidWrite: 0xbc,
  TooManyActiveZones: 0xbd,
  TooManyOpenZones: 0xbe,
  InvalidZoneStateTransition: 0xbf,
} as const;
export type CommandSpecificStatus = (typeof CommandSpecificStatus)[keyof typeof CommandSpecificStatus];

/**
 * SCT 1h codes for fabrics commands (NVMe-oF 1.1 Figure 21 / NVMe Base 2.0 Figure 103 "Connect",
 * "Discovery"). They overlap the NVM command-specific values; which applies depends on the opcode.
 */
export const FabricsStatus = {
  /** Connect: incompatible format (RECFMT). */
  ConnectIncompatibleFormat: 0x80,
  /** Connect: controller busy (CNTLID in use, or the qid already connected). */
  ConnectControllerBusy: 0x81,
  /** Connect: invalid parameters — CQE DW0 carries IATTR/IPO. */
  ConnectInvalidParameters: 0x82,
  /** Connect: restart discovery. */
  ConnectRestartDiscovery: 0x83,
  /** Connect: invalid host (host NQN not allowed). */
  ConnectInvalidHost: 0x84,
  /** Disconnect: invalid queue type (a Disconnect on the admin queue; NVMe-oF 1.1 Figure 13). */
  InvalidQueueType: 0x85,
  /** Discovery: the discovery log changed, restart. */
  DiscoverRestart: 0x90,
  /** Authentication required. */
  AuthenticationRequired: 0x91,
} as const;
export type FabricsStatus = (typeof FabricsStatus)[keyof typeof FabricsStatus];

/** SCT 2h: Media and Data Integrity Errors (NVMe Base 2.0 Figure 104; NVM CS Figure 20). */
export const MediaStatus = {
  WriteFault: 0x80,
  UnrecoveredReadError: 0x81,
  GuardCheckError: 0x82,
  ApplicationTagCheckError: 0x83,
  ReferenceTagCheckError: 0x84,
  CompareFailure: 0x85,
  AccessDenied: 0x86,
  DeallocatedOrUnwrittenBlock: 0x87,
  StorageTagCheckError: 0x88,
} as const;
export type MediaStatus = (typeof MediaStatus)[keyof typeof MediaStatus];

/** SCT 3h: Path Related Status (NVMe Base 2.0 Figure 105). */
export const PathStatus = {
  InternalPathError: 0x00,
  AsymmetricAccessPersistentLoss: 0x01,
  AsymmetricAccessInaccessible: 0x02,
  AsymmetricAccessTransition: 0x03,
  ControllerPathingError: 0x60,
  HostPathingError: 0x70,
  CommandAbortedByHost: 0x71,
} as const;
export type PathStatus = (typeof PathStatus)[keyof typeof PathStatus];

/** Bits of the packed 15-bit status (CQE DW3 bits 31:17). */
export const StatusBits = {
  SC_MASK: 0xff,
  SCT_SHIFT: 8,
  SCT_MASK: 0x7,
  CRD_SHIFT: 11,
  CRD_MASK: 0x3,
  /** More: more status information in the Error Information log page. */
  MORE: 1 << 13,
  /** Do Not Retry. */
  DNR: 1 << 14,
} as const;

export interface StatusFields {
  sct: number;
  sc: number;
  /** Do Not Retry (bit 14 of the packed status). */
  dnr?: boolean;
  /** More information in the Error Information log (bit 13). */
  more?: boolean;
  /** Command Retry Delay index 0..3 (bits 12:11). */
  crd?: number;
}

/** Pack SCT/SC/CRD/More/DNR into the 15-bit status (without the phase tag). */
export function makeStatus(sct: number, sc: number, dnr = false, more = false, crd = 0): number {
  return (
    (sc & 0xff) |
    ((sct & 0x7) << 8) |
    ((crd & 0x3) << 11) |
    (more ? StatusBits.MORE : 0) |
    (dnr ? StatusBits.DNR : 0)
  );
}

/** Unpack a 15-bit status. */
export function decodeStatus(status: number): Required<StatusFields> {
  return {
    sc: status & 0xff,
    sct: (status >> 8) & 0x7,
    crd: (status >> 11) & 0x3,
    more: (status & StatusBits.MORE) !== 0,
    dnr: (status & StatusBits.DNR) !== 0,
  };
}

function invert(o: Record<string, number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) m.set(v, k);
  return m;
}
const genericNames = invert(GenericStatus);
const specificNames = invert(CommandSpecificStatus);
const fabricsNames = invert(FabricsStatus);
const mediaNames = invert(MediaStatus);
const pathNames = invert(PathStatus);
const sctNames = invert(StatusCodeType);

/**
 * Name of a status, e.g. `statusName(0, 2)` → `"InvalidField"`. Command-specific codes 0x80+
 * mean different things for fabrics commands; pass the opcode (0x7f) to get the fabrics name.
 */
export function statusName(sct: number, sc: number, opcode?: number): string {
  let n: string | undefined;
  switch (sct) {
    case StatusCodeType.Generic:
      n = genericNames.get(sc);
      break;
    case StatusCodeType.CommandSpecific:
      n = opcode === FABRICS_OPCODE && sc >= 0x80 ? fabricsNames.get(sc) : specificNames.get(sc);
      break;
    case StatusCodeType.MediaError:
      n = mediaNames.get(sc);
      break;
    case StatusCodeType.Path:
      n = pathNames.get(sc);
      break;
    default:
      break;
  }
  return n ?? `${sctNames.get(sct) ?? `Sct${sct}`}(0x${hex2(sc)})`;
}

/** Name of a status code type, e.g. `"MediaError"`. */
export function statusCodeTypeName(sct: number): string {
  return sctNames.get(sct) ?? `Sct${sct}`;
}

/**
 * An NVMe command failed with a status. Carries the fields a caller needs to decide on a retry
 * (`dnr`) and to report it; `code` is a stable string for logs.
 *
 * Open for subclassing (e.g. a host library's `NvmeCommandError extends NvmeStatusError` that
 * adds the failed command): `name` is typed `string` so a subclass can set its own.
 */
export class NvmeStatusError extends Error {
  override readonly name: string = 'NvmeStatusError';
  readonly code = 'ERR_NVME_STATUS';
  readonly sct: number;
  readonly sc: number;
  readonly dnr: boolean;
  readonly more: boolean;
  readonly crd: number;
  /** Name from `statusName()`. */
  readonly statusName: string;

  constructor(sct: number, sc: number, opts: { dnr?: boolean; more?: boolean; crd?: number; opcode?: number; message?: string } = {}) {
    const name = statusName(sct, sc, opts.opcode);
    super(opts.message ?? `NVMe status ${name} (sct 0x${sct.toString(16)}, sc 0x${hex2(sc)}${opts.dnr === true ? ', dnr' : ''})`);
    this.sct = sct;
    this.sc = sc;
    this.dnr = opts.dnr ?? false;
    this.more = opts.more ?? false;
    this.crd = opts.crd ?? 0;
    this.statusName = name;
  }

  /** The packed 15-bit status for a CQE. */
  get status(): number {
    return makeStatus(this.sct, this.sc, this.dnr, this.more, this.crd);
  }

  /** Build from a packed 15-bit status (e.g. `CqeView.status`). */
  static fromStatus(status: number, opcode?: number): NvmeStatusError {
    const f = decodeStatus(status);
    return new NvmeStatusError(f.sct, f.sc, { dnr: f.dnr, more: f.more, crd: f.crd, ...(opcode === undefined ? {} : { opcode }) });
  }
}
