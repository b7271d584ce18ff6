import { crc32c } from '@node-rs/crc32';
import {
  SqeView, CqeView, NvmOpcode, Psdt, SglDescriptorType, SglSubtype, StatusCodeType, MediaStatus,
  NvmeStatusError, statusName, ConnectCommandView, ConnectDataView, CapsuleCmdView, IcReqView,
  IcRespView, PduType, pduLength, writeHeaderDigest, verifyHeaderDigest, checkPduHeader,
  isPduHeaderProblem, opcodeName,
} from '../src/index.js';

// A Read of 8 blocks at LBA 0x1000 into PRP1.
const sqe = new SqeView(Buffer.alloc(64));
sqe.opcode = NvmOpcode.Read;
sqe.cid = 1;
sqe.nsid = 1;
sqe.prp1 = 0x10_0000;
sqe.slba = 0x1000;
sqe.nlb = 7; // 0's based
const wire = Buffer.from(sqe.bytes()).toString('hex');
console.log(wire);
// ...and decoded again from those bytes, as a controller reads it.
const rxSqe = new SqeView(Buffer.from(wire, 'hex'));
console.log(opcodeName('nvm', rxSqe.opcode), rxSqe.cid, rxSqe.nsid, `0x${rxSqe.slba.toString(16)}`, rxSqe.nlb + 1, `0x${rxSqe.prp1.toString(16)}`);

// A CQE with an error status, decoded.
const cqe = new CqeView(Buffer.alloc(16));
cqe.cid = 1;
cqe.setStatus(StatusCodeType.MediaError, MediaStatus.UnrecoveredReadError, true);
console.log(cqe.ok, statusName(cqe.sct, cqe.sc), cqe.dnr); // false UnrecoveredReadError true
if (!cqe.ok) console.log(NvmeStatusError.fromStatus(cqe.status).message);

// A Connect capsule for the admin queue as NVMe/TCP sends it: CapsuleCmd + in-capsule data.
const plen = pduLength(72, true, false, 1024);
const pdu = Buffer.alloc(plen);
const cmd = new CapsuleCmdView(pdu).init(true, false, 1024);
const connect = new ConnectCommandView(pdu, 8).init(0);
connect.psdt = Psdt.SglMptrContiguous; // NVMe-oF data is described by SGLs (Linux sets 01b)
connect.sgl1.set(SglDescriptorType.DataBlock, SglSubtype.Offset, 0, 1024);
connect.qid = 0;
connect.sqsize = 31;
connect.kato = 30_000;
const data = new ConnectDataView(pdu, cmd.pdo);
data.cntlid = 0xffff;
data.subnqn = 'nqn.2014-08.org.nvmexpress.discovery';
data.hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001';
writeHeaderDigest(crc32c, pdu);

// The target decodes the same bytes in place: PDU header checks, header digest, command, data.
const rx = checkPduHeader(pdu, 0, { hdgst: true, ddgst: false });
if (isPduHeaderProblem(rx)) throw new Error(rx.message);
const rxCmd = new ConnectCommandView(pdu, 8);
const rxData = new ConnectDataView(pdu, rx.dataOffset);
console.log(verifyHeaderDigest(crc32c, pdu), rx.dataOffset, rx.dataLength, rxCmd.qid, rxCmd.sqsize, rxCmd.kato, rxData.cntlid.toString(16), rxData.subnqn);

// ICReq / ICResp.
const icreq = new IcReqView(Buffer.alloc(128)).init();
icreq.hdgstEnable = true;
const icresp = new IcRespView(Buffer.alloc(128)).init();
icresp.hdgstEnable = icreq.hdgstEnable;
icresp.maxh2cdata = 128 * 1024;
const got = checkPduHeader(icresp.bytes(), 0, { hdgst: true, ddgst: false });
console.log(isPduHeaderProblem(got) ? got.message : got.type === PduType.ICResp);
