/**
 * Errors of the host library, as classes with a stable `code` (undici's pattern). Every failed
 * command rejects (or calls back) with one of:
 * - {@link NvmeCommandError}: the controller completed the command with a non-zero status; a
 *   @nvmu/nvme-spec `NvmeStatusError` (SCT/SC, DNR/More/CRD, status name) plus the command
 *   (opcode name, cid, nsid, qid).
 * - {@link NvmeCommandAbortedError}: the command never got a completion (connection lost,
 *   timeout, controller reset or close).
 */
import { NvmeStatusError, decodeStatus, opcodeName, statusName } from '@nvmu/nvme-spec';

/** Which command set an opcode is read in: admin queue or NVM I/O queue. */
export type CommandSet = 'admin' | 'nvm';

/** The command a failure belongs to. */
export interface CommandInfo {
  /** SQE byte 0. */
  readonly opcode: number;
  /** For a Fabrics command (opcode 7Fh), SQE byte 4; else undefined. */
  readonly fctype: number | undefined;
  /** Name from @nvmu/nvme-spec's `opcodeName`, e.g. "Read", "Identify", "Fabrics.Connect". */
  readonly opcodeName: string;
  /** Command identifier the command carried. */
  readonly cid: number;
  /** Namespace id of the command (SQE DW1). */
  readonly nsid: number;
  /** Queue id it was submitted on. */
  readonly qid: number;
}

function describe(cmd: CommandInfo): string {
  return `${cmd.opcodeName} (qid ${cmd.qid}, cid ${cmd.cid}${cmd.nsid !== 0 ? `, nsid ${cmd.nsid}` : ''})`;
}

/**
 * The controller completed a command with an error status (NVMe Base 2.0 §4.6.1). A
 * @nvmu/nvme-spec `NvmeStatusError` (so `instanceof NvmeStatusError` holds, with its sct, sc,
 * dnr, more, crd, statusName, the packed `status` and `code` 'ERR_NVME_STATUS'), plus the
 * command and the completion's DW0.
 */
export class NvmeCommandError extends NvmeStatusError {
  override readonly name = 'NvmeCommandError';
  /** The failed command. */
  readonly command: CommandInfo;
  /** CQE DW0 of the failed completion (command specific, e.g. Connect's IATTR/IPO). */
  readonly dw0: number;

  constructor(status: number, command: CommandInfo, dw0 = 0) {
    const f = decodeStatus(status);
    const name = statusName(f.sct, f.sc, command.opcode);
    super(f.sct, f.sc, {
      dnr: f.dnr,
      more: f.more,
      crd: f.crd,
      opcode: command.opcode,
      message: `${describe(command)} failed: ${name} (sct 0x${f.sct.toString(16)}, sc 0x${f.sc.toString(16).padStart(2, '0')}${f.dnr ? ', dnr' : ''})`,
    });
    this.command = command;
    this.dw0 = dw0;
  }
}

/** Why a command ended without a completion. */
export type AbortReason =
  /** The qpair's connection dropped before the CQE arrived. */
  | 'disconnected'
  /** No CQE within the command timeout; the controller is reset. */
  | 'timeout'
  /** The controller is being reset (another command timed out, keep-alive failed, `reset()`). */
  | 'reset'
  /** The controller or qpair was closed by the application. */
  | 'closed';

/** A command got no completion from the controller. */
export class NvmeCommandAbortedError extends Error {
  override readonly name = 'NvmeCommandAbortedError';
  readonly code = 'ERR_NVME_ABORTED';
  constructor(
    readonly reason: AbortReason,
    /** The command, when the abort hit a submitted one. */
    readonly command: CommandInfo | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${command === undefined ? 'command' : describe(command)} aborted: ${reason}`, options);
  }
}

/** The callback path found no free slot: the caller exceeded the qpair's `maxOutstanding`. */
export class NvmeQueueFullError extends Error {
  override readonly name = 'NvmeQueueFullError';
  readonly code = 'ERR_NVME_QUEUE_FULL';
  constructor(readonly qid: number) {
    super(`qpair ${qid} has no free command slot`);
  }
}

/**
 * The controller's status register did not reach a state in time, or reported a fatal error,
 * during bring-up or shutdown (NVMe Base 2.0 §3.5.1: CC.EN/CSTS.RDY bounded by CAP.TO in 500 ms
 * units; §3.6.2: CC.SHN/CSTS.SHST; CSTS.CFS Controller Fatal Status). Like SPDK's
 * `nvme_ctrlr_state_timeout` path, the controller is then failed (or reset, when reconnecting).
 */
export class NvmeControllerStatusError extends Error {
  override readonly name = 'NvmeControllerStatusError';
  readonly code = 'ERR_NVME_CONTROLLER_STATUS';
  constructor(
    /** 'timeout': the state never came within `timeoutMs`; 'fatal': CSTS.CFS was set. */
    readonly reason: 'timeout' | 'fatal',
    /** The state waited for, e.g. "CSTS.RDY=1" or "CSTS.SHST=10b". */
    readonly waitingFor: string,
    /** The last CSTS value read. */
    readonly csts: number,
    /** The bound: CAP.TO × 500 ms for CSTS.RDY, the shutdown timeout for CSTS.SHST. */
    readonly timeoutMs: number,
  ) {
    super(
      reason === 'fatal'
        ? `controller fatal status (CSTS.CFS, CSTS 0x${csts.toString(16)}) while waiting for ${waitingFor}`
        : `timed out after ${timeoutMs} ms waiting for ${waitingFor} (CSTS 0x${csts.toString(16)})`,
    );
  }
}

/** Why a qpair made the controller reset (the `cause` of the `resetting` event). */
export type QPairFailure = 'disconnected' | 'timeout';

/** A qpair lost its connection or a command on it timed out; the controller resets. */
export class NvmeQPairError extends Error {
  override readonly name = 'NvmeQPairError';
  readonly code = 'ERR_NVME_QPAIR';
  constructor(
    readonly reason: QPairFailure,
    readonly qid: number,
  ) {
    super(reason === 'timeout' ? `a command on qpair ${qid} timed out` : `qpair ${qid} disconnected`);
  }
}

/**
 * The controller cannot do what was asked in its state or configuration: shut down while not
 * ready, I/O queues on a discovery controller, no default I/O qpair, every I/O queue in use.
 */
export class NvmeControllerStateError extends Error {
  override readonly name = 'NvmeControllerStateError';
  readonly code = 'ERR_NVME_CONTROLLER_STATE';
}

/** A host transport lacks what its kind requires (a pcie transport without register access). */
export class NvmeTransportCapabilityError extends Error {
  override readonly name = 'NvmeTransportCapabilityError';
  readonly code = 'ERR_NVME_TRANSPORT_CAPABILITY';
  constructor(
    readonly trtype: string,
    /** What is missing, e.g. "register access and allocDmaMemory". */
    readonly missing: string,
  ) {
    super(`trtype ${trtype}: a pcie transport must offer ${missing}`);
  }
}

/**
 * The Discovery Log Page's GENCTR changed during every read (NVMe Base 2.0 §5.16.1.23); libnvme
 * gives up the same way after its retries.
 */
export class NvmeDiscoveryLogChangingError extends Error {
  override readonly name = 'NvmeDiscoveryLogChangingError';
  readonly code = 'ERR_NVME_DISCOVERY_LOG_CHANGING';
  constructor(readonly reads: number) {
    super(`discovery log kept changing over ${reads} reads`);
  }
}

/** Any error a command can end with. */
export type NvmeError = NvmeCommandError | NvmeCommandAbortedError;

/** Builds the {@link CommandInfo} of a command from its SQE bytes. */
export function commandInfo(sqe: Uint8Array, set: CommandSet, qid: number): CommandInfo {
  const opcode = sqe[0] ?? 0;
  const fctype = opcode === 0x7f ? (sqe[4] ?? 0) : undefined;
  const cid = (sqe[2] ?? 0) | ((sqe[3] ?? 0) << 8);
  const nsid = ((sqe[4] ?? 0) | ((sqe[5] ?? 0) << 8) | ((sqe[6] ?? 0) << 16) | ((sqe[7] ?? 0) << 24)) >>> 0;
  return { opcode, fctype, opcodeName: opcodeName(set, opcode, fctype), cid, nsid: fctype === undefined ? nsid : 0, qid };
}
