/**
 * Identify (NVMe Base 2.0 §5.17): CNS 00h namespace, 01h controller, 02h active namespace list,
 * 03h namespace identification descriptors, 05h/06h I/O command set specific (NVM: CSI 0), and
 * the discovery controller's Identify Controller (NVMe-oF 1.1 §5). Values the Linux host checks
 * (INTEROP.md): ICDOFF 0, SGLS bits 1:0 set, MAXCMD non-zero, KAS non-zero, IOCCSZ >= 4,
 * IORCSZ >= 1 (from the transport), CNTLID equal to Connect's, CNTRLTYPE.
 */
import { type Controller, ctrlrOf } from '../controller-access.js';
import { CTRLR_LIMITS, NVME_VERSION, mdtsFor } from '../controller.js';
import type { CommandEnv } from '../env.js';
import type { Namespace } from '../namespace.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { Cns, IdCtrl, IdNs, NidType } from '../spec-gaps.js';
import { S } from '../status.js';
import { putAscii, returnData } from './data.js';

const IDENTIFY_SIZE = 4096;
const NSID_ALL = 0xffffffff;

export function buildIdentifyController(ctrlr: Controller): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const sub = ctrlr.subsystem;
  const opts = ctrlr.transport.options;
  const tf = ctrlr.transport.identifyFields();
  const disc = ctrlr.isDiscovery;
  putAscii(b, IdCtrl.SN, 20, sub.serial);
  putAscii(b, IdCtrl.MN, 40, sub.model);
  putAscii(b, IdCtrl.FR, 8, sub.firmwareRevision);
  b[IdCtrl.RAB] = 6;
  // CMIC bit 1: more than one controller may be attached (dynamic model); bit 3: ANA reporting.
  b[IdCtrl.CMIC] = disc ? 0 : (1 << 1) | (sub.anaReporting ? 1 << 3 : 0);
  b[IdCtrl.MDTS] = mdtsFor(opts.maxIoSize);
  b.writeUInt16LE(ctrlr.cntlid, IdCtrl.CNTLID);
  b.writeUInt32LE(NVME_VERSION, IdCtrl.VER);
  // OAES: bit 8 Namespace Attribute notices, bit 11 ANA change, bit 31 discovery log change.
  const oaes = disc ? 1 << 31 : (1 << 8) | (sub.anaReporting ? 1 << 11 : 0);
  b.writeUInt32LE(oaes >>> 0, IdCtrl.OAES);
  b.writeUInt32LE(1, IdCtrl.CTRATT); // bit 0: 128-bit Host Identifier (required on fabrics)
  b[IdCtrl.CNTRLTYPE] = disc ? 2 : 1;
  b[IdCtrl.ACL] = 3;
  b[IdCtrl.AERL] = CTRLR_LIMITS.aerl;
  b[IdCtrl.FRMW] = 0x03; // slot 1 read-only, 1 slot
  b[IdCtrl.LPA] = 0x06; // bit 1 Commands Supported and Effects log, bit 2 extended data (LPO offsets)
  b[IdCtrl.ELPE] = CTRLR_LIMITS.elpe;
  b.writeUInt16LE(0x0157, IdCtrl.WCTEMP);
  b.writeUInt16LE(0x0175, IdCtrl.CCTEMP);
  b.writeUInt16LE(CTRLR_LIMITS.kas, IdCtrl.KAS);
  if (!disc && sub.anaReporting) {
    b[IdCtrl.ANATT] = 10;
    b[IdCtrl.ANACAP] = 0x1f; // reports optimized, non-optimized, inaccessible, persistent loss, change
    b.writeUInt32LE(128, IdCtrl.ANAGRPMAX);
    b.writeUInt32LE(128, IdCtrl.NANAGRPID);
  }
  b[IdCtrl.SQES] = 0x66;
  b[IdCtrl.CQES] = 0x44;
  b.writeUInt16LE(Math.min(disc ? opts.maxAdminQueueDepth : opts.maxQueueDepth, 0xffff) || 1, IdCtrl.MAXCMD);
  b.writeUInt32LE(disc ? 0 : sub.maxNamespaces, IdCtrl.NN);
  // ONCS: bit 0 Compare, bit 2 Dataset Management, bit 3 Write Zeroes, bit 4 Save/Select in Features.
  b.writeUInt16LE(disc ? 0 : 0x1d, IdCtrl.ONCS);
  // VWC: bit 0 present, bits 2:1 = 11b Flush with NSID FFFFFFFFh supported.
  b[IdCtrl.VWC] = disc ? 0 : 0x07;
  // SGLS bits 1:0 = 01b: SGLs supported, no alignment requirement; the transport adds its bits.
  b.writeUInt32LE((tf.sgls | 1) >>> 0, IdCtrl.SGLS);
  b.write(sub.nqn, IdCtrl.SUBNQN, 'utf8');
  b.writeUInt32LE(tf.ioccsz, IdCtrl.IOCCSZ);
  b.writeUInt32LE(tf.iorcsz, IdCtrl.IORCSZ);
  b.writeUInt16LE(tf.icdoff, IdCtrl.ICDOFF);
  b[IdCtrl.FCATT] = tf.fcatt;
  b[IdCtrl.MSDBD] = tf.msdbd;
  // Power state 0: 25 W max (centiwatts), entry/exit latencies as nvmet.
  b.writeUInt16LE(0x09c4, IdCtrl.PSD0);
  b.writeUInt32LE(0x10, IdCtrl.PSD0 + 4);
  b.writeUInt32LE(0x4, IdCtrl.PSD0 + 8);
  return b;
}

export function buildIdentifyNamespace(ns: Namespace, anaReporting: boolean): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const blocks = BigInt(ns.numBlocks);
  b.writeBigUInt64LE(blocks, IdNs.NSZE);
  b.writeBigUInt64LE(blocks, IdNs.NCAP);
  b.writeBigUInt64LE(blocks, IdNs.NUSE);
  b[IdNs.NLBAF] = 0; // one LBA format (0's based)
  b[IdNs.FLBAS] = 0;
  b[IdNs.NMIC] = 1; // may be attached to more than one controller
  // DLFEAT: bit 3 Write Zeroes may deallocate, bits 2:0 = 001b deallocated blocks read as zeros.
  b[IdNs.DLFEAT] = 0x09;
  if (anaReporting) b.writeUInt32LE(ns.anaGroupId, IdNs.ANAGRPID);
  b.set(ns.nguid, IdNs.NGUID);
  b.set(ns.eui64, IdNs.EUI64);
  b.writeUInt32LE(Math.log2(ns.blockSize) << 16, IdNs.LBAF0); // LBADS, no metadata, RP 0
  return b;
}

function buildActiveNsList(ctrlr: Controller, after: number): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const ids = [...ctrlr.subsystem.namespaces.keys()].filter((n) => n > after).sort((x, y) => x - y);
  for (let i = 0; i < ids.length && i < 1024; i++) b.writeUInt32LE(ids[i] ?? 0, i * 4);
  return b;
}

function buildNsDescriptors(ns: Namespace): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  let o = 0;
  const put = (type: number, id: Uint8Array): void => {
    b[o] = type;
    b[o + 1] = id.byteLength;
    b.set(id, o + 4);
    o += 4 + id.byteLength;
  };
  if (ns.eui64.some((x) => x !== 0)) put(NidType.Eui64, ns.eui64);
  put(NidType.Nguid, ns.nguid);
  put(NidType.Uuid, ns.uuidBytes);
  put(NidType.Csi, Uint8Array.of(0)); // NVM command set
  return b;
}

/** Parse: CNS (CDW10 7:0), CNTID (CDW10 31:16), CSI (CDW11 31:24), NSID. */
export function identify(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = ctrlrOf(qp);
  const sqe = req.sqeView;
  const cns = sqe.getUint8(40);
  const csi = sqe.getUint8(47);
  const nsid = sqe.getUint32(4, true);
  const sub = ctrlr.subsystem;
  if (ctrlr.isDiscovery && cns !== Cns.Controller) return S.InvalidField;
  switch (cns) {
    case Cns.Controller:
      return returnData(req, buildIdentifyController(ctrlr), IDENTIFY_SIZE);
    case Cns.Namespace: {
      if (nsid === 0 || nsid === NSID_ALL || nsid > sub.maxNamespaces) return S.InvalidNamespaceOrFormat;
      const ns = sub.namespaces.get(nsid);
      // An inactive NSID in range returns a zero-filled structure (NVMe Base 2.0 §5.17.2.1).
      return returnData(req, ns === undefined ? Buffer.alloc(0) : buildIdentifyNamespace(ns, sub.anaReporting), IDENTIFY_SIZE);
    }
    case Cns.ActiveNamespaceList:
      if (nsid >= 0xfffffffe) return S.InvalidNamespaceOrFormat;
      return returnData(req, buildActiveNsList(ctrlr, nsid), IDENTIFY_SIZE);
    case Cns.NamespaceIdDescriptors: {
      const ns = sub.namespaces.get(nsid);
      if (ns === undefined) return S.InvalidNamespaceOrFormat;
      return returnData(req, buildNsDescriptors(ns), IDENTIFY_SIZE);
    }
    case Cns.IoCommandSetNamespace: {
      if (csi !== 0) return S.InvalidField;
      if (!sub.namespaces.has(nsid)) return S.InvalidNamespaceOrFormat;
      return returnData(req, Buffer.alloc(0), IDENTIFY_SIZE); // NVM CS specific namespace: no PI/ELBAs
    }
    case Cns.IoCommandSetController:
      // NVM command set specific controller (VSL, WZSL, WUSL, DMRL, DMRSL, DMSL): 0 = no limits
      // beyond MDTS. Linux 6.1 asks on every namespace scan (INTEROP.md).
      if (csi !== 0) return S.InvalidField;
      return returnData(req, Buffer.alloc(0), IDENTIFY_SIZE);
    default:
      return S.InvalidField;
  }
}
