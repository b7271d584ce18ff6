/**
 * Fabrics Connect (NVMe-oF 1.1 §3.3; NVMe Base 2.0 §6.3): binds a qpair to a controller. On
 * the admin queue it creates the controller (dynamic or static cntlid); on an I/O queue it joins
 * an existing, enabled controller of the same host.
 *
 * SQE: RECFMT bytes 41:40, QID 43:42, SQSIZE 45:44 (0's based), CATTR 46, KATO 51:48 (ms).
 * Data (1024 bytes): HOSTID 15:0, CNTLID 17:16, SUBNQN 511:256, HOSTNQN 767:512.
 * Errors: Connect Invalid Parameters with IATTR/IPO in DW0 (which field), Connect Invalid Host,
 * Controller Busy, Incompatible Format.
 */
import { CONNECT_RECFMT, ConnectAttr, ConnectCommandView, ConnectDataView, ConnectInvalidOffset, connectInvalidParam } from '@nvmu/nvme-spec';
import type { CommandEnv } from '../command-env.js';
import { copyFromIov } from '../iov.js';
import { NQN_MAX_BYTES } from '../nqn.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';

const CONNECT_DATA_SIZE = 1024;

/** Parsed and checked Connect fields. */
interface ConnectParams {
  qid: number;
  sqsize: number;
  cattr: number;
  kato: number;
  hostid: Uint8Array;
  cntlid: number;
  subnqn: string;
  hostnqn: string;
}

function invalidParam(req: CoreRequest, inData: boolean, ipo: number): number {
  req.cqe.dw0 = connectInvalidParam(inData ? 1 : 0, ipo);
  return CommandStatus.ConnectInvalidParameters;
}

/** Parse step: SQE fields and the Connect data; returns a status on malformed input. */
function parse(req: CoreRequest): ConnectParams | number {
  const sqe = new ConnectCommandView(req.sqeBytes);
  if (sqe.recfmt !== CONNECT_RECFMT) return CommandStatus.ConnectIncompatibleFormat;
  if (req.length < CONNECT_DATA_SIZE) return CommandStatus.DataSglLengthInvalid;
  const data = Buffer.alloc(CONNECT_DATA_SIZE);
  copyFromIov(req.iov, req.iovcnt, 0, data, 0, CONNECT_DATA_SIZE);
  const view = new ConnectDataView(data);
  return {
    qid: sqe.qid,
    sqsize: sqe.sqsize,
    cattr: sqe.cattr,
    kato: sqe.kato,
    hostid: view.hostid,
    cntlid: view.cntlid,
    subnqn: view.subnqn,
    hostnqn: view.hostnqn,
  };
}

export function connect(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  if (qp.state !== 'connecting') return CommandStatus.CommandSequenceError;
  const p = parse(req);
  if (typeof p === 'number') return p;

  const sub = env.getSubsystem(p.subnqn);
  if (sub === undefined || sub.state === 'inactive' || !sub.listenerAllowed(qp.listenAddress)) {
    return invalidParam(req, true, ConnectInvalidOffset.subnqn);
  }
  if (!hostNqnAcceptable(p.hostnqn)) return invalidParam(req, true, ConnectInvalidOffset.hostnqn);
  if (!sub.hostAllowed(p.hostnqn)) {
    // DW0 names HOSTNQN as Linux nvmet does (IPO_IATTR_CONNECT_DATA(hostnqn)); SPDK leaves it 0.
    req.cqe.dw0 = connectInvalidParam(1, ConnectInvalidOffset.hostnqn);
    return CommandStatus.ConnectInvalidHost;
  }
  if (p.sqsize === 0) return invalidParam(req, false, ConnectInvalidOffset.sqsize);
  const opts = qp.transport.options;
  const sqFlowControlDisabled = (p.cattr & ConnectAttr.SQ_FLOW_CONTROL_DISABLE) !== 0;

  if (p.qid === 0) {
    // Admin queue: create the controller.
    if (p.sqsize + 1 > Math.min(qp.depth, Math.max(opts.maxAdminQueueDepth, 32))) {
      return invalidParam(req, false, ConnectInvalidOffset.sqsize);
    }
    const cntlid = sub.allocateCntlid(p.cntlid);
    if (cntlid === 'invalid') return invalidParam(req, true, ConnectInvalidOffset.cntlid);
    if (cntlid === 'busy') return CommandStatus.ConnectControllerBusy;
    const ctrlr = sub.createController(cntlid, p.hostnqn, p.hostid, p.kato, qp.transport);
    ctrlr.addQPair(qp, 0);
    qp.bind(ctrlr, 0, p.sqsize, cntlid, p.hostnqn, sub.nqn, sqFlowControlDisabled);
    req.cqe.dw0 = cntlid;
    env.logger.info('controller created', { cntlid, subnqn: sub.nqn, hostnqn: p.hostnqn, kato: p.kato });
  } else {
    // I/O queue: join the host's controller.
    const ctrlr = sub.controllers.get(p.cntlid);
    if (ctrlr?.state !== 'live') return invalidParam(req, true, ConnectInvalidOffset.cntlid);
    if (ctrlr.hostnqn !== p.hostnqn) return invalidParam(req, true, ConnectInvalidOffset.hostnqn);
    if (!sameBytes(ctrlr.hostid, p.hostid)) return invalidParam(req, true, 0 /* HOSTID */);
    // No I/O queues on a discovery controller, none before CC.EN = 1 / CSTS.RDY = 1 (also not
    // after CC was refused with CSTS.CFS, e.g. bad IOSQES/IOCQES), and none above the Number of
    // Queues granted: Connect Invalid Parameters on QID, as SPDK (nvmf_ctrlr_add_io_qpair) and
    // Linux nvmet (qid > max_qid) answer.
    if (ctrlr.isDiscovery || !ctrlr.ready || p.qid > ctrlr.ioQueuesGranted) return invalidParam(req, false, ConnectInvalidOffset.qid);
    // A second Connect for a QID already in use: Command Sequence Error (nvmet's
    // nvmet_install_queue and SPDK's "duplicate QID" both answer so).
    if (ctrlr.qpairs[p.qid] !== undefined) return CommandStatus.CommandSequenceError;
    if (p.sqsize + 1 > Math.min(qp.depth, opts.maxQueueDepth)) return invalidParam(req, false, ConnectInvalidOffset.sqsize);
    ctrlr.addQPair(qp, p.qid);
    qp.bind(ctrlr, p.qid, p.sqsize, ctrlr.cntlid, p.hostnqn, sub.nqn, sqFlowControlDisabled);
    req.cqe.dw0 = ctrlr.cntlid;
  }
  qp.ops.connected?.(qp);
  return CommandStatus.Success;
}

/**
 * A Connect's HOSTNQN: "nqn." and at most 223 bytes. Deliberately more lenient than the full
 * NVMe Base 2.0 §4.5 grammar (which `Subsystem.addHost` enforces): hosts in the field send NQNs
 * that bend it, and Linux nvmet and SPDK accept them.
 */
function hostNqnAcceptable(nqn: string): boolean {
  return nqn.startsWith('nqn.') && nqn.length > 4 && Buffer.byteLength(nqn, 'utf8') <= NQN_MAX_BYTES;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
