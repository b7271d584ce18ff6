/**
 * Commands the transport itself sends to the target core on a qpair, as SPDK's vfio_user.c
 * does (it sends a Fabrics Connect per queue and turns BAR0 accesses into Property Get/Set):
 * Connect, Property Get/Set, Identify Namespace (the LBA size a PRP transfer needs), Get
 * Features Number of Queues, Abort, Get Log Page. Each runs synchronously in the core (these
 * handlers complete before `submit` returns); one that does not answer at once reports
 * `pending` and is released when it completes.
 *
 * Not on the hot path: register accesses, queue creation, a namespace's first I/O.
 */
import {
  AdminOpcode,
  ConnectDataView,
  DiscoveryLogEntryView,
  DiscoveryLogPageHeaderView,
  DiscoverySubtype,
  FABRICS_OPCODE,
  FabricsCommandType,
  discoveryLogEntryOffset,
} from '@nvmu/nvme-spec';
import type { QPair, Request } from '@nvmu/nvmf';
import { PrpSegments } from './prp.js';
import type { SubmissionQueue } from './queues.js';

/** Discovery subsystem NQN (NVMe Base 2.0 §4.5). */
export const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';

/** The transport's state on every pooled request. */
export class VfuRequest {
  /** 'internal' while the transport's own command runs; 'guest' otherwise. */
  kind: 'guest' | 'internal' = 'guest';
  /** The SQ a guest command came from (its completion goes to that SQ's CQ). */
  sq: SubmissionQueue | undefined = undefined;
  /** PRP segments of the command's data. */
  readonly segs: PrpSegments;
  /** Slow path: the data lives here and moves by DMA_READ / DMA_WRITE. */
  bounce: Buffer | undefined = undefined;
  /** Counted in the controller's in-flight commands (everything but a held AER). */
  counted = false;
  /** ≥ 0: complete with success and this DW0 instead (an Asynchronous Event delivered by the transport). */
  eventDw0 = -1;
  /** Internal command result. */
  done = false;
  status = 0;
  dw0 = 0;
  dw1 = 0;

  constructor(maxTransfer: number) {
    this.segs = new PrpSegments(maxTransfer);
  }
}

export type VfuQPair = QPair<VfuRequest>;
export type VfuReq = Request<VfuRequest>;

/** Result of an internal command: status 'pending' when the core did not answer synchronously. */
export interface InternalResult {
  readonly status: number | 'pending' | 'no-request';
  readonly dw0: number;
  readonly dw1: number;
}

const NO_REQUEST: InternalResult = { status: 'no-request', dw0: 0, dw1: 0 };

/** Run one command the transport builds on `qp`. */
export function execInternal(qp: VfuQPair, fill: (sqe: DataView) => void, data?: Buffer): InternalResult {
  const req = qp.allocRequest();
  if (req === undefined) return NO_REQUEST;
  const td = req.transportData;
  td.kind = 'internal';
  td.done = false;
  td.sq = undefined;
  req.sqeBytes.fill(0);
  fill(req.sqeView);
  if (data === undefined) req.clearData();
  else req.setData(data);
  qp.submit(req);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- submit() may have completed it (finishInternal)
  if (!td.done) return { status: 'pending', dw0: 0, dw1: 0 };
  return { status: td.status, dw0: td.dw0, dw1: td.dw1 };
}

/** Called from the transport's `complete` hook for an internal request: record and release it. */
export function finishInternal(req: VfuReq): void {
  const td = req.transportData;
  td.done = true;
  td.status = (req.cqeView.getUint16(14, true) >>> 1) & 0x7fff;
  td.dw0 = req.cqeView.getUint32(0, true);
  td.dw1 = req.cqeView.getUint32(4, true);
  td.kind = 'guest';
  req.qpair.freeRequest(req);
}

export interface ConnectParams {
  readonly qid: number;
  /** 0's based queue size. */
  readonly sqsize: number;
  /** FFFFh for the admin queue (dynamic model), the controller's cntlid for I/O queues. */
  readonly cntlid: number;
  readonly subnqn: string;
  readonly hostnqn: string;
  readonly hostid: Uint8Array;
}

/** Fabrics Connect (NVMe-oF 1.1 §3.3): SQE bytes 40-51, 1 KiB of Connect data. */
export function connect(qp: VfuQPair, p: ConnectParams): InternalResult {
  const data = Buffer.alloc(1024);
  const view = new ConnectDataView(data);
  view.hostid = p.hostid;
  view.cntlid = p.cntlid;
  view.subnqn = p.subnqn;
  view.hostnqn = p.hostnqn;
  return execInternal(
    qp,
    (sqe) => {
      sqe.setUint8(0, FABRICS_OPCODE);
      sqe.setUint8(4, FabricsCommandType.Connect);
      sqe.setUint16(40, 0, true); // RECFMT 0
      sqe.setUint16(42, p.qid, true);
      sqe.setUint16(44, p.sqsize, true);
      sqe.setUint8(46, 0); // CATTR: SQ flow control stays on (SQHD is reported)
      sqe.setUint32(48, 0, true); // KATO 0: a PCIe controller has no keep-alive
    },
    data,
  );
}

/** Property Get (NVMe-oF 1.1 §3.4): ATTRIB byte 40 (1 = 8 bytes), OFST bytes 44-47. */
export function propertyGet(qp: VfuQPair, ofst: number, size8: boolean): bigint | undefined {
  const r = execInternal(qp, (sqe) => {
    sqe.setUint8(0, FABRICS_OPCODE);
    sqe.setUint8(4, FabricsCommandType.PropertyGet);
    sqe.setUint8(40, size8 ? 1 : 0);
    sqe.setUint32(44, ofst, true);
  });
  if (r.status !== 0) return undefined;
  return BigInt(r.dw0 >>> 0) | (size8 ? BigInt(r.dw1 >>> 0) << 32n : 0n);
}

/** Property Set (NVMe-oF 1.1 §3.5): VALUE bytes 48-55. */
export function propertySet(qp: VfuQPair, ofst: number, value: bigint, size8: boolean): boolean {
  const r = execInternal(qp, (sqe) => {
    sqe.setUint8(0, FABRICS_OPCODE);
    sqe.setUint8(4, FabricsCommandType.PropertySet);
    sqe.setUint8(40, size8 ? 1 : 0);
    sqe.setUint32(44, ofst, true);
    sqe.setBigUint64(48, BigInt.asUintN(64, value), true);
  });
  return r.status === 0;
}

/**
 * LBA data size of namespace `nsid` in bytes (Identify Namespace FLBAS → LBAF[n].LBADS, NVMe
 * NVM Command Set 1.0 Figure 97), or undefined when it is not an active namespace.
 */
export function lbaSizeOf(qp: VfuQPair, nsid: number, scratch: Buffer): number | undefined {
  scratch.fill(0, 0, 4096);
  const r = execInternal(
    qp,
    (sqe) => {
      sqe.setUint8(0, AdminOpcode.Identify);
      sqe.setUint32(4, nsid, true);
      sqe.setUint32(40, 0x00, true); // CNS 00h: Identify Namespace
    },
    scratch.subarray(0, 4096),
  );
  if (r.status !== 0) return undefined;
  const nsze = scratch.readBigUInt64LE(0);
  if (nsze === 0n) return undefined;
  const flbas = scratch[26] ?? 0;
  const index = (flbas & 0xf) | ((flbas >>> 1) & 0x30);
  const lbads = scratch[128 + index * 4 + 2] ?? 0;
  return lbads >= 9 ? 2 ** lbads : undefined;
}

/** Get Features Number of Queues (FID 07h): { nsqa, ncqa } granted, 1's based. */
export function queuesGranted(qp: VfuQPair): { nsqa: number; ncqa: number } | undefined {
  const r = execInternal(qp, (sqe) => {
    sqe.setUint8(0, AdminOpcode.GetFeatures);
    sqe.setUint32(40, 0x07, true);
  });
  if (r.status !== 0) return undefined;
  return { nsqa: (r.dw0 & 0xffff) + 1, ncqa: (r.dw0 >>> 16) + 1 };
}

/** Abort (NVMe Base 2.0 §5.1): SQID CDW10 15:0, CID 31:16. */
export function abortCommand(qp: VfuQPair, sqid: number, cid: number): InternalResult {
  return execInternal(qp, (sqe) => {
    sqe.setUint8(0, AdminOpcode.Abort);
    sqe.setUint32(40, (sqid & 0xffff) | ((cid & 0xffff) << 16), true);
  });
}

/** Get Log Page `lid` into `buf` from byte `offset` (NUMD from buf's length, a multiple of 4). */
export function getLogPage(qp: VfuQPair, lid: number, buf: Buffer, offset: number): boolean {
  const numd = buf.byteLength / 4 - 1;
  const r = execInternal(
    qp,
    (sqe) => {
      sqe.setUint8(0, AdminOpcode.GetLogPage);
      sqe.setUint32(40, (lid & 0xff) | ((numd & 0xffff) << 16), true);
      sqe.setUint32(44, numd >>> 16, true);
      sqe.setUint32(48, offset >>> 0, true);
      sqe.setUint32(52, Math.floor(offset / 0x1_0000_0000), true);
    },
    buf,
  );
  return r.status === 0;
}

/**
 * The NQN of the NVM subsystem that listens on `traddr` with discovery TRTYPE `trtype`, found
 * the way a host would: a discovery controller on an internal qpair of that listener, its
 * Discovery Log Page (NVMe-oF 1.1 §5.3), then Disconnect. The transport contract has no
 * "listener associated with subsystem" hook (SPDK's listen_associate); this needs none.
 */
export function findSubsystemNqn(qp: VfuQPair, hostnqn: string, hostid: Uint8Array, trtype: number, traddr: string): string | undefined {
  try {
    const c = connect(qp, { qid: 0, sqsize: 1, cntlid: 0xffff, subnqn: DISCOVERY_NQN, hostnqn, hostid });
    if (c.status !== 0) return undefined;
    // CC.EN = 1 so the discovery controller runs admin commands (CSTS.RDY).
    if (!propertySet(qp, 0x14, 1n, false)) return undefined;
    const head = Buffer.alloc(1024);
    if (!getLogPage(qp, 0x70, head, 0)) return undefined;
    const numrec = new DiscoveryLogPageHeaderView(head).numrec;
    if (numrec === 0) return undefined;
    const body = Buffer.alloc(discoveryLogEntryOffset(numrec));
    if (!getLogPage(qp, 0x70, body, 0)) return undefined;
    for (let i = 0; i < numrec; i++) {
      const e = new DiscoveryLogEntryView(body, discoveryLogEntryOffset(i));
      if (e.subtype === DiscoverySubtype.Nvme && e.trtype === trtype && e.traddr.trimEnd() === traddr) return e.subnqn.replace(/\0+$/, '');
    }
    return undefined;
  } finally {
    qp.disconnected();
  }
}
