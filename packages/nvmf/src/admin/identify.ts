/**
 * Identify (NVMe Base 2.0 §5.17): CNS 00h namespace, 01h controller, 02h active namespace list,
 * 03h namespace identification descriptors, 05h/06h I/O command set specific (NVM: CSI 0), and
 * the discovery controller's Identify Controller (NVMe-oF 1.1 §5). Values the Linux host checks
 * (INTEROP.md): ICDOFF 0, SGLS bits 1:0 set, MAXCMD non-zero, KAS non-zero, IOCCSZ >= 4,
 * IORCSZ >= 1 (from the transport), CNTLID equal to Connect's, CNTRLTYPE.
 */
import {
  Cns,
  Csi,
  IDENTIFY_DATA_SIZE,
  IdentifyControllerView,
  IdentifyNamespaceView,
  NidType,
  encodeNsIdDescriptors,
  encodeNsList,
  type NsIdDescriptor,
} from '@nvmu/nvme-spec';
import { type Controller, requireController } from '../qpair-controller.js';
import { CTRLR_LIMITS, NVME_VERSION, mdtsFor } from '../controller.js';
import type { CommandEnv } from '../command-env.js';
import type { Namespace } from '../namespace.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';

import { CommandStatus } from '../status.js';
import { transportIdentifyFields } from '../transport.js';
import { returnData } from './data.js';

const IDENTIFY_SIZE = IDENTIFY_DATA_SIZE;
const NSID_ALL = 0xffffffff;

export function buildIdentifyController(ctrlr: Controller): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const id = new IdentifyControllerView(b);
  const sub = ctrlr.subsystem;
  const opts = ctrlr.transport.options;
  const tf = transportIdentifyFields(ctrlr.transport);
  const disc = ctrlr.isDiscovery;
  id.sn = sub.serial;
  id.mn = sub.model;
  id.fr = sub.firmwareRevision;
  id.rab = 6;
  // CMIC bit 1: more than one controller may be attached (dynamic model); bit 3: ANA reporting.
  id.cmic = disc ? 0 : (1 << 1) | (sub.anaReporting ? 1 << 3 : 0);
  id.mdts = mdtsFor(opts.maxIoSize);
  id.cntlid = ctrlr.cntlid;
  id.ver = NVME_VERSION;
  // OAES: bit 8 Namespace Attribute notices, bit 11 ANA change, bit 31 discovery log change.
  id.oaes = (disc ? 1 << 31 : (1 << 8) | (sub.anaReporting ? 1 << 11 : 0)) >>> 0;
  id.ctratt = 1; // bit 0: 128-bit Host Identifier (required on fabrics)
  id.cntrltype = disc ? 2 : 1;
  id.acl = 3;
  id.aerl = CTRLR_LIMITS.aerl;
  id.frmw = 0x03; // slot 1 read-only, 1 slot
  // LPA bit 2: extended data (LPO offsets). Bit 1 (Commands Supported and Effects log) only on I/O
  // controllers: Linux reads that log when the bit is set and fails a discovery controller's init
  // if it cannot (a discovery controller serves log 70h only, as nvmet).
  id.lpa = disc ? 0x04 : 0x06;
  id.elpe = CTRLR_LIMITS.elpe;
  id.wctemp = 0x0157;
  id.cctemp = 0x0175;
  id.kas = CTRLR_LIMITS.kas;
  if (!disc && sub.anaReporting) {
    id.anatt = 10;
    id.anacap = 0x1f; // reports optimized, non-optimized, inaccessible, persistent loss, change
    id.anagrpmax = 128;
    id.nanagrpid = 128;
  }
  id.sqes = 0x66;
  id.cqes = 0x44;
  id.maxcmd = Math.min(disc ? opts.maxAdminQueueDepth : opts.maxQueueDepth, 0xffff) || 1;
  id.nn = disc ? 0 : sub.maxNamespaces;
  // ONCS: bit 0 Compare, bit 2 Dataset Management, bit 3 Write Zeroes, bit 4 Save/Select in Features.
  id.oncs = disc ? 0 : 0x1d;
  // VWC: bit 0 present, bits 2:1 = 11b Flush with NSID FFFFFFFFh supported.
  id.vwc = disc ? 0 : 0x07;
  // SGLS bits 1:0 = 01b: SGLs supported, no alignment requirement; the transport adds its bits.
  id.sgls = (tf.prpOnly === true ? tf.sgls : tf.sgls | 1) >>> 0;
  id.subnqn = sub.nqn;
  id.ioccsz = tf.ioccsz;
  id.iorcsz = tf.iorcsz;
  id.icdoff = tf.icdoff;
  id.fcatt = tf.fcatt | (sub.cntlidModel === 'static' ? 1 : 0); // bit 0: static controller model
  id.msdbd = tf.msdbd;
  // Power state 0: 25 W max (centiwatts), entry/exit latencies as nvmet.
  id.setPsdMp(0, 0x09c4);
  id.setPsdEnlat(0, 0x10);
  id.setPsdExlat(0, 0x4);
  return b;
}

export function buildIdentifyNamespace(ns: Namespace, anaReporting: boolean): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const id = new IdentifyNamespaceView(b);
  id.nsze = ns.numBlocks;
  id.ncap = ns.numBlocks;
  id.nuse = ns.numBlocks;
  id.nlbaf = 0; // one LBA format (0's based)
  id.formatIndex = 0;
  id.shared = true; // NMIC bit 0: may be attached to more than one controller
  // DLFEAT: bit 3 Write Zeroes may deallocate, bits 2:0 = 001b deallocated blocks read as zeros
  // (000b, not reported, for a bdev whose reads do not return zeros, e.g. a null bdev like SPDK's).
  id.dlfeat = ns.bdev.readsZeroesAfterDeallocate === false ? 0x08 : 0x09;
  if (anaReporting) id.anagrpid = ns.anaGroupId;
  id.nguid = ns.nguid;
  id.eui64 = ns.eui64;
  id.setLbaf(0, { ms: 0, lbads: Math.log2(ns.blockSize), rp: 0 });
  return b;
}

function buildActiveNsList(ctrlr: Controller, after: number): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  encodeNsList(b, [...ctrlr.subsystem.namespaces.keys()].filter((n) => n > after).sort((x, y) => x - y));
  return b;
}

function buildNsDescriptors(ns: Namespace): Buffer {
  const b = Buffer.alloc(IDENTIFY_SIZE);
  const descs: NsIdDescriptor[] = [];
  if (ns.eui64.some((x) => x !== 0)) descs.push({ nidt: NidType.Eui64, nid: ns.eui64 });
  descs.push({ nidt: NidType.Nguid, nid: ns.nguid }, { nidt: NidType.Uuid, nid: ns.uuidBytes }, { nidt: NidType.Csi, nid: Uint8Array.of(Csi.Nvm) });
  encodeNsIdDescriptors(b, descs);
  return b;
}

/** Parse: CNS (CDW10 7:0), CNTID (CDW10 31:16), CSI (CDW11 31:24), NSID. */
export function identify(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const sqe = req.sqe;
  const cns = sqe.cns;
  const csi = sqe.csi;
  const nsid = sqe.nsid;
  const sub = ctrlr.subsystem;
  if (ctrlr.isDiscovery && cns !== Cns.Controller) return CommandStatus.InvalidField;
  switch (cns) {
    case Cns.Controller:
      return returnData(req, buildIdentifyController(ctrlr), IDENTIFY_SIZE);
    case Cns.Namespace: {
      if (nsid === 0 || nsid === NSID_ALL || nsid > sub.maxNamespaces) return CommandStatus.InvalidNamespaceOrFormat;
      const ns = sub.namespaces.get(nsid);
      // An inactive NSID in range returns a zero-filled structure (NVMe Base 2.0 §5.17.2.1).
      return returnData(req, ns === undefined ? Buffer.alloc(0) : buildIdentifyNamespace(ns, sub.anaReporting), IDENTIFY_SIZE);
    }
    case Cns.ActiveNamespaceList:
      if (nsid >= 0xfffffffe) return CommandStatus.InvalidNamespaceOrFormat;
      return returnData(req, buildActiveNsList(ctrlr, nsid), IDENTIFY_SIZE);
    case Cns.NamespaceIdDescriptorList: {
      const ns = sub.namespaces.get(nsid);
      if (ns === undefined) return CommandStatus.InvalidNamespaceOrFormat;
      return returnData(req, buildNsDescriptors(ns), IDENTIFY_SIZE);
    }
    case Cns.IoCommandSetNamespace: {
      if (csi !== Csi.Nvm) return CommandStatus.InvalidField;
      if (!sub.namespaces.has(nsid)) return CommandStatus.InvalidNamespaceOrFormat;
      return returnData(req, Buffer.alloc(0), IDENTIFY_SIZE); // NVM CS specific namespace: no PI/ELBAs
    }
    case Cns.IoCommandSetController:
      // NVM command set specific controller (VSL, WZSL, WUSL, DMRL, DMRSL, DMSL): 0 = no limits
      // beyond MDTS. Linux 6.1 asks on every namespace scan (INTEROP.md).
      if (csi !== Csi.Nvm) return CommandStatus.InvalidField;
      return returnData(req, Buffer.alloc(0), IDENTIFY_SIZE);
    default:
      return CommandStatus.InvalidField;
  }
}
