/**
 * Get Log Page (NVMe Base 2.0 §5.16): LID CDW10 7:0, LSP 14:8, RAE bit 15, NUMDL CDW10 31:16,
 * NUMDU CDW11 15:0 (dwords, 0's based), LPOL/LPOU CDW12/13 (byte offset, dword aligned).
 * Logs: 01h Error Information, 02h SMART / Health, 03h Firmware Slot, 04h Changed Namespace
 * List, 05h Commands Supported and Effects, 0Ch ANA (when reported), 70h Discovery (discovery
 * controllers only). Reading a log with RAE = 0 clears its asynchronous event (unmasks it).
 */
import { AdminOpcode, NvmOpcode } from '@nvmu/nvme-spec';
import { type Controller, ctrlrOf } from '../controller-access.js';
import { buildDiscoveryLog } from '../discovery.js';
import type { CommandEnv } from '../env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { LogPage } from '../spec-gaps.js';
import { S } from '../status.js';
import { returnData } from './data.js';

function errorLog(c: Controller): Buffer {
  const b = Buffer.alloc(64 * c.errorLog.length);
  c.errorLog.forEach((e, i) => {
    const o = i * 64;
    b.writeBigUInt64LE(BigInt(e.errorCount), o);
    b.writeUInt16LE(e.sqid, o + 8);
    b.writeUInt16LE(e.cid, o + 10);
    b.writeUInt16LE((e.status << 1) & 0xfffe, o + 12); // Status Field as in the CQE, phase 0
    b.writeUInt16LE(0xffff, o + 14); // Parameter Error Location: not specified
    b.writeBigUInt64LE(BigInt(e.lba), o + 16);
    b.writeUInt32LE(e.nsid, o + 24);
  });
  return b;
}

/** SMART / Health Information (NVMe Base 2.0 Figure 207). Data units are 1000 × 512 bytes. */
function smartLog(c: Controller): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt16LE(273 + 25, 1); // Composite Temperature: 25 °C in kelvins
  b[3] = 100; // Available Spare
  b[4] = 10; // Available Spare Threshold
  const units = (bytes: number): bigint => BigInt(Math.ceil(bytes / 512000));
  b.writeBigUInt64LE(units(c.bytesRead), 32); // Data Units Read (low 64 bits of 128)
  b.writeBigUInt64LE(units(c.bytesWritten), 48); // Data Units Written
  b.writeBigUInt64LE(BigInt(c.readCommands), 64); // Host Read Commands
  b.writeBigUInt64LE(BigInt(c.writeCommands), 80); // Host Write Commands
  b.writeBigUInt64LE(BigInt(Math.floor((Date.now() - c.createdAt) / 3_600_000)), 128); // Power On Hours
  b.writeBigUInt64LE(BigInt(c.errorCount), 176); // Number of Error Information Log Entries
  return b;
}

/** Firmware Slot Information (NVMe Base 2.0 Figure 209): slot 1 active. */
function firmwareSlotLog(c: Controller): Buffer {
  const b = Buffer.alloc(512);
  b[0] = 1; // AFI: slot 1 active
  b.fill(0x20, 8, 16);
  b.write(c.subsystem.firmwareRevision.slice(0, 8), 8, 'ascii');
  return b;
}

/** Changed Namespace List (NVMe Base 2.0 Figure 210): up to 1024 NSIDs, or FFFFFFFFh first. */
function changedNsLog(c: Controller): Buffer {
  const b = Buffer.alloc(4096);
  if (c.changedNsOverflow) b.writeUInt32LE(0xffffffff, 0);
  else c.changedNs.forEach((nsid, i) => b.writeUInt32LE(nsid, i * 4));
  return b;
}

/** Commands Supported and Effects (NVMe Base 2.0 Figure 211): CSUPP bit 0, LBCC bit 1, NCC bit 2, NIC bit 3. */
function effectsLog(c: Controller): Buffer {
  const b = Buffer.alloc(4096);
  const admin = [
    AdminOpcode.GetLogPage,
    AdminOpcode.Identify,
    AdminOpcode.Abort,
    AdminOpcode.SetFeatures,
    AdminOpcode.GetFeatures,
    AdminOpcode.AsyncEventRequest,
    AdminOpcode.KeepAlive,
  ];
  for (const op of admin) b.writeUInt32LE(1, op * 4);
  if (!c.isDiscovery) {
    const LBCC = 1 << 1;
    const io: [number, number][] = [
      [NvmOpcode.Flush, 1 | LBCC],
      [NvmOpcode.Write, 1 | LBCC],
      [NvmOpcode.Read, 1],
      [NvmOpcode.Compare, 1],
      [NvmOpcode.WriteZeroes, 1 | LBCC],
      [NvmOpcode.DatasetManagement, 1 | LBCC],
    ];
    for (const [op, v] of io) b.writeUInt32LE(v, 1024 + op * 4);
  }
  return b;
}

/** ANA log (NVMe Base 2.0 §5.16.1.13): header, then one descriptor per group with its NSIDs. LSP bit 0: groups only. */
function anaLog(c: Controller, rgo: boolean): Buffer {
  const sub = c.subsystem;
  const groups = [...sub.anaGroups.entries()].sort((a, b) => a[0] - b[0]);
  const nsByGroup = new Map<number, number[]>();
  for (const ns of sub.namespaces.values()) {
    const l = nsByGroup.get(ns.anaGroupId) ?? [];
    l.push(ns.nsid);
    nsByGroup.set(ns.anaGroupId, l);
  }
  let size = 16;
  for (const [g] of groups) size += 32 + (rgo ? 0 : 4 * (nsByGroup.get(g)?.length ?? 0));
  const b = Buffer.alloc(size);
  b.writeBigUInt64LE(BigInt(sub.anaChangeCount), 0);
  b.writeUInt16LE(groups.length, 8);
  let o = 16;
  for (const [g, state] of groups) {
    const nsids = rgo ? [] : (nsByGroup.get(g) ?? []).sort((x, y) => x - y);
    b.writeUInt32LE(g, o);
    b.writeUInt32LE(nsids.length, o + 4);
    b.writeBigUInt64LE(BigInt(sub.anaChangeCount), o + 8);
    b[o + 16] = state;
    nsids.forEach((n, i) => b.writeUInt32LE(n, o + 32 + i * 4));
    o += 32 + nsids.length * 4;
  }
  return b;
}

export function getLogPage(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const c = ctrlrOf(qp);
  const sqe = req.sqeView;
  const cdw10 = sqe.getUint32(40, true);
  const lid = cdw10 & 0xff;
  const lsp = (cdw10 >>> 8) & 0x7f;
  const rae = (cdw10 & (1 << 15)) !== 0;
  const numd = ((cdw10 >>> 16) | ((sqe.getUint32(44, true) & 0xffff) << 16)) + 1;
  const len = numd * 4;
  const offset = sqe.getUint32(48, true) + sqe.getUint32(52, true) * 0x1_0000_0000;
  if (offset % 4 !== 0) return S.InvalidField;

  let log: Buffer;
  if (c.isDiscovery) {
    if (lid !== LogPage.Discovery) return S.InvalidLogPage;
    log = buildDiscoveryLog(env, c);
  } else {
    switch (lid) {
      case LogPage.ErrorInformation:
        log = errorLog(c);
        break;
      case LogPage.SmartHealth:
        log = smartLog(c);
        break;
      case LogPage.FirmwareSlot:
        log = firmwareSlotLog(c);
        break;
      case LogPage.ChangedNamespaceList:
        log = changedNsLog(c);
        break;
      case LogPage.CommandsSupportedAndEffects:
        log = effectsLog(c);
        break;
      case LogPage.Ana:
        if (!c.subsystem.anaReporting) return S.InvalidLogPage;
        log = anaLog(c, (lsp & 1) === 1);
        break;
      default:
        return S.InvalidLogPage;
    }
  }
  if (offset > log.byteLength) return S.InvalidField;
  const status = returnData(req, log.subarray(offset), len);
  if (status !== S.Success) return status;
  if (!rae) {
    if (lid === LogPage.ChangedNamespaceList) {
      c.changedNs = [];
      c.changedNsOverflow = false;
    }
    c.clearEvent(lid);
  }
  return S.Success;
}
