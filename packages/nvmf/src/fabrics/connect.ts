/**
 * Fabrics Connect (NVMe-oF 1.1 §3.3; NVMe Base 2.0 §6.3): binds a qpair to a controller. On
 * the admin queue it creates the controller (dynamic or static cntlid); on an I/O queue it joins
 * an existing, enabled controller of the same host.
 *
 * SQE: RECFMT bytes 41:40, QID 43:42, SQSIZE 45:44 (0's based), CATTR 46, KATO 51:48 (ms).
 * Data (1024 bytes): HOSTID 15:0, CNTLID 17:16, SUBNQN 511:256, HOSTNQN 767:512.
 * Errors: Connect Invalid Parameters with IATTR/IPO in DW0 (which field), Connect Invalid Host,
 * Controller Busy, Incompatible Format; each refusal is logged (field, value, peer, status).
 *
 * HOSTNQN: a subsystem that allows any host accepts any HOSTNQN of at most 223 bytes, even an
 * empty one (SPDK's initiator sends all zeros when its transport ID names no hostnqn) or one not
 * in NQN form, as Linux nvmet and SPDK's target do; such a host is logged once at warn. A
 * subsystem with a host list refuses a HOSTNQN not on it with Connect Invalid Host.
 */
import { CONNECT_RECFMT, ConnectAttr, ConnectCommandView, ConnectDataView, ConnectInvalidOffset, NQN_MAX_LENGTH, connectInvalidParam, isValidNqn, statusName } from '@nvmu/nvme-spec';
import type { CommandEnv } from '../command-env.js';
import { copyFromIov } from '../iov.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';

const CONNECT_DATA_SIZE = 1024;
/** Opcode of every fabrics command (NVMe-oF 1.1 §3.3), for status names. */
const FABRICS_OPCODE = 0x7f;

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

/** Why a Connect was refused: the status, the field at fault and its value (for the log). */
interface Refusal {
  readonly status: number;
  readonly field: string;
  readonly value: string | number;
  readonly reason: string;
}

/**
 * Refuse: every refused Connect is logged with the field, its value, the peer and the status
 * returned (an operator cannot see a refusal otherwise: the host only gets a status code).
 */
function refuse(env: CommandEnv, qp: CoreQPair, r: Refusal): number {
  const sct = (r.status >> 8) & 0x7;
  const sc = r.status & 0xff;
  env.logger.warn('connect refused', {
    reason: r.reason,
    field: r.field,
    value: r.value,
    peer: peerOf(qp),
    sct,
    sc: `0x${sc.toString(16).padStart(2, '0')}`,
    dnr: (r.status & 0x4000) !== 0,
    statusName: statusName(sct, sc, FABRICS_OPCODE),
  });
  return r.status;
}

function peerOf(qp: CoreQPair): string | undefined {
  const a = qp.peerAddress;
  if (a === undefined) return undefined;
  if (a.trsvcid === '') return a.traddr;
  return a.adrfam === 'ipv6' ? `[${a.traddr}]:${a.trsvcid}` : `${a.traddr}:${a.trsvcid}`;
}

/** Connect Invalid Parameters naming the field (IATTR/IPO in DW0, NVMe-oF 1.1 Figure 21). */
function badParam(env: CommandEnv, qp: CoreQPair, req: CoreRequest, inData: boolean, ipo: number, field: string, value: string | number, reason: string): number {
  req.cqe.dw0 = connectInvalidParam(inData ? 1 : 0, ipo);
  return refuse(env, qp, { status: CommandStatus.ConnectInvalidParameters, field, value, reason });
}

export function connect(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  if (qp.state !== 'connecting') return refuse(env, qp, { status: CommandStatus.CommandSequenceError, field: 'qpair', value: qp.state, reason: 'queue already connected' });
  const p = parse(req);
  if (typeof p === 'number') {
    const field = p === CommandStatus.ConnectIncompatibleFormat ? 'recfmt' : 'data length';
    const value = p === CommandStatus.ConnectIncompatibleFormat ? new ConnectCommandView(req.sqeBytes).recfmt : req.length;
    return refuse(env, qp, { status: p, field, value, reason: p === CommandStatus.ConnectIncompatibleFormat ? 'unknown record format' : 'Connect data shorter than 1024 bytes' });
  }

  const sub = env.getSubsystem(p.subnqn);
  if (sub === undefined || sub.state === 'inactive' || !sub.listenerAllowed(qp.listenAddress)) {
    const reason = sub === undefined ? 'no such subsystem' : sub.state === 'inactive' ? 'subsystem inactive' : 'subsystem not offered on this listener';
    return badParam(env, qp, req, true, ConnectInvalidOffset.subnqn, 'subnqn', p.subnqn, reason);
  }
  if (Buffer.byteLength(p.hostnqn, 'utf8') > NQN_MAX_LENGTH) {
    return badParam(env, qp, req, true, ConnectInvalidOffset.hostnqn, 'hostnqn', p.hostnqn, `longer than ${NQN_MAX_LENGTH} bytes`);
  }
  if (!sub.hostAllowed(p.hostnqn)) {
    // DW0 names HOSTNQN as Linux nvmet does (IPO_IATTR_CONNECT_DATA(hostnqn)); SPDK leaves it 0.
    req.cqe.dw0 = connectInvalidParam(1, ConnectInvalidOffset.hostnqn);
    const reason = p.hostnqn === '' ? 'empty host NQN and the subsystem has a host list' : 'host not in the subsystem\'s host list';
    return refuse(env, qp, { status: CommandStatus.ConnectInvalidHost, field: 'hostnqn', value: p.hostnqn, reason });
  }
  if (p.sqsize === 0) return badParam(env, qp, req, false, ConnectInvalidOffset.sqsize, 'sqsize', p.sqsize, 'SQSIZE 0 (a queue of one entry)');
  const opts = qp.transport.options;
  const sqFlowControlDisabled = (p.cattr & ConnectAttr.SQ_FLOW_CONTROL_DISABLE) !== 0;

  if (p.qid === 0) {
    // Admin queue: create the controller.
    const max = Math.min(qp.depth, Math.max(opts.maxAdminQueueDepth, 32));
    if (p.sqsize + 1 > max) return badParam(env, qp, req, false, ConnectInvalidOffset.sqsize, 'sqsize', p.sqsize, `more than ${max} admin queue entries`);
    const cntlid = sub.allocateCntlid(p.cntlid);
    if (cntlid === 'invalid') return badParam(env, qp, req, true, ConnectInvalidOffset.cntlid, 'cntlid', p.cntlid, 'CNTLID not allowed by the subsystem');
    if (cntlid === 'busy') return refuse(env, qp, { status: CommandStatus.ConnectControllerBusy, field: 'cntlid', value: p.cntlid, reason: 'controller ID in use' });
    if (!isValidNqn(p.hostnqn)) {
      // Linux nvmet and SPDK accept any HOSTNQN where any host may connect, and SPDK's own
      // initiator sends an all-zero one by default: accept it, but say so once per controller.
      env.logger.warn('connect: host NQN is not a valid NQN; accepted because the subsystem allows any host', {
        hostnqn: p.hostnqn,
        peer: peerOf(qp),
        subnqn: sub.nqn,
      });
    }
    const ctrlr = sub.createController(cntlid, p.hostnqn, p.hostid, p.kato, qp.transport);
    ctrlr.addQPair(qp, 0);
    qp.bind(ctrlr, 0, p.sqsize, cntlid, p.hostnqn, sub.nqn, sqFlowControlDisabled);
    req.cqe.dw0 = cntlid;
    env.logger.info('controller created', { cntlid, subnqn: sub.nqn, hostnqn: p.hostnqn, kato: p.kato, peer: peerOf(qp) });
  } else {
    // I/O queue: join the host's controller.
    const ctrlr = sub.controllers.get(p.cntlid);
    if (ctrlr?.state !== 'live') return badParam(env, qp, req, true, ConnectInvalidOffset.cntlid, 'cntlid', p.cntlid, 'no live controller with this CNTLID');
    if (ctrlr.hostnqn !== p.hostnqn) return badParam(env, qp, req, true, ConnectInvalidOffset.hostnqn, 'hostnqn', p.hostnqn, `controller ${ctrlr.cntlid} belongs to host "${ctrlr.hostnqn}"`);
    if (!sameBytes(ctrlr.hostid, p.hostid)) return badParam(env, qp, req, true, 0, 'hostid', Buffer.from(p.hostid).toString('hex'), `controller ${ctrlr.cntlid} has another host ID`);
    // No I/O queues on a discovery controller, none before CC.EN = 1 / CSTCommandStatus.RDY = 1 (also not
    // after CC was refused with CSTCommandStatus.CFS, e.g. bad IOSQES/IOCQES), and none above the Number of
    // Queues granted: Connect Invalid Parameters on QID, as SPDK (nvmf_ctrlr_add_io_qpair) and
    // Linux nvmet (qid > max_qid) answer.
    if (ctrlr.isDiscovery || !ctrlr.ready || p.qid > ctrlr.ioQueuesGranted) {
      const reason = ctrlr.isDiscovery ? 'no I/O queues on a discovery controller' : !ctrlr.ready ? 'controller not ready (CSTCommandStatus.RDY 0)' : `more than the ${ctrlr.ioQueuesGranted} I/O queues granted`;
      return badParam(env, qp, req, false, ConnectInvalidOffset.qid, 'qid', p.qid, reason);
    }
    // A second Connect for a QID already in use: Command Sequence Error (nvmet's
    // nvmet_install_queue and SPDK's "duplicate QID" both answer so).
    if (ctrlr.qpairs[p.qid] !== undefined) return refuse(env, qp, { status: CommandStatus.CommandSequenceError, field: 'qid', value: p.qid, reason: 'QID already connected' });
    const max = Math.min(qp.depth, opts.maxQueueDepth);
    if (p.sqsize + 1 > max) return badParam(env, qp, req, false, ConnectInvalidOffset.sqsize, 'sqsize', p.sqsize, `more than ${max} I/O queue entries`);
    ctrlr.addQPair(qp, p.qid);
    qp.bind(ctrlr, p.qid, p.sqsize, ctrlr.cntlid, p.hostnqn, sub.nqn, sqFlowControlDisabled);
    req.cqe.dw0 = ctrlr.cntlid;
  }
  qp.ops.connected?.(qp);
  return CommandStatus.Success;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
