/**
 * Get Log Page (NVMe Base 2.0 §5.16): LID CDW10 7:0, LSP 14:8, RAE bit 15, NUMDL CDW10 31:16,
 * NUMDU CDW11 15:0 (dwords, 0's based), LPOL/LPOU CDW12/13 (byte offset, dword aligned).
 * Logs: 01h Error Information, 02h SMART / Health, 03h Firmware Slot, 04h Changed Namespace
 * List, 05h Commands Supported and Effects, 0Ch ANA (when reported), 70h Discovery (discovery
 * controllers only). Reading a log with RAE = 0 clears its asynchronous event (unmasks it).
 */
import {
  AdminOpcode,
  CommandEffects,
  CommandsEffectsLogView,
  ErrorInformationEntryView,
  FirmwareSlotLogView,
  LogPageId as LogPage,
  NvmOpcode,
  SmartLogView,
  anaLogSize,
  encodeAnaLog,
  encodeChangedNsOverflow,
  encodeNsList,
  type AnaGroupDescriptor,
} from '@nvmu/nvme-spec';
import { type Controller, requireController } from '../qpair-controller.js';
import { CTRLR_LIMITS } from '../controller.js';
import { buildDiscoveryLog } from '../discovery.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';
import { returnData } from './data.js';

/**
 * Error Information (NVMe Base 2.0 §5.16.1.2): the log is ELPE + 1 entries long whatever has
 * happened; entries past the recorded errors read as zeros (Error Count 0: not valid).
 */
function errorLog(c: Controller): Buffer {
  const b = Buffer.alloc(64 * (CTRLR_LIMITS.elpe + 1));
  const v = new ErrorInformationEntryView(b);
  c.errorLog.forEach((e, i) => {
    v.attach(b, i * 64);
    v.errorCount = e.errorCount;
    v.sqid = e.sqid;
    v.cid = e.cid;
    v.statusField = (e.status << 1) & 0xfffe; // Status Field as in the CQE, phase 0
    v.parameterErrorLocation = 0xffff; // not specified
    v.lba = e.lba;
    v.nsid = e.nsid;
  });
  return b;
}

/** SMART / Health Information (NVMe Base 2.0 Figure 207). Data units are 1000 × 512 bytes. */
function smartLog(c: Controller): Buffer {
  const b = Buffer.alloc(512);
  const v = new SmartLogView(b);
  v.compositeTemperature = 273 + 25; // kelvins
  v.availableSpare = 100;
  v.availableSpareThreshold = 10;
  v.dataUnitsRead = Math.ceil(c.bytesRead / 512000);
  v.dataUnitsWritten = Math.ceil(c.bytesWritten / 512000);
  v.hostReadCommands = c.readCommands;
  v.hostWriteCommands = c.writeCommands;
  v.powerOnHours = Math.floor((Date.now() - c.createdAt) / 3_600_000);
  v.numErrLogEntries = c.errorCount;
  return b;
}

/** Firmware Slot Information (NVMe Base 2.0 Figure 209): slot 1 active. */
function firmwareSlotLog(c: Controller): Buffer {
  const b = Buffer.alloc(512);
  const v = new FirmwareSlotLogView(b);
  v.afi = 1;
  v.setFrs(1, c.subsystem.firmwareRevision);
  return b;
}

/** Changed Namespace List (NVMe Base 2.0 Figure 210): up to 1024 NSIDs, or FFFFFFFFh first. */
function changedNsLog(c: Controller): Buffer {
  const b = Buffer.alloc(4096);
  if (c.changedNsOverflow) encodeChangedNsOverflow(b);
  else encodeNsList(b, c.changedNs);
  return b;
}

/** Commands Supported and Effects (NVMe Base 2.0 Figure 211). */
function effectsLog(c: Controller): Buffer {
  const b = Buffer.alloc(4096);
  const v = new CommandsEffectsLogView(b);
  const admin = [
    AdminOpcode.GetLogPage,
    AdminOpcode.Identify,
    AdminOpcode.Abort,
    AdminOpcode.SetFeatures,
    AdminOpcode.GetFeatures,
    AdminOpcode.AsyncEventRequest,
    AdminOpcode.KeepAlive,
  ];
  for (const op of admin) v.setAcs(op, CommandEffects.CSUPP);
  if (!c.isDiscovery) {
    const changes = CommandEffects.CSUPP | CommandEffects.LBCC;
    v.setIocs(NvmOpcode.Flush, changes);
    v.setIocs(NvmOpcode.Write, changes);
    v.setIocs(NvmOpcode.Read, CommandEffects.CSUPP);
    v.setIocs(NvmOpcode.Compare, CommandEffects.CSUPP);
    v.setIocs(NvmOpcode.WriteZeroes, changes);
    v.setIocs(NvmOpcode.DatasetManagement, changes);
  }
  return b;
}

/** ANA log (NVMe Base 2.0 §5.16.1.13): one descriptor per group with its NSIDs; LSP bit 0 (RGO): groups only. */
function anaLog(c: Controller, rgo: boolean): Buffer {
  const sub = c.subsystem;
  const groups: AnaGroupDescriptor[] = [...sub.anaGroups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([anagrpid, state]) => ({
      anagrpid,
      chgcnt: sub.anaChangeCount,
      state,
      nsids: [...sub.namespaces.values()].filter((n) => n.anaGroupId === anagrpid).map((n) => n.nsid).sort((x, y) => x - y),
    }));
  const b = Buffer.alloc(anaLogSize(groups, rgo));
  encodeAnaLog(b, { chgcnt: sub.anaChangeCount, groups }, rgo);
  return b;
}

export function getLogPage(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const c = requireController(qp);
  const sqe = req.sqe;
  const lid = sqe.lid;
  const lsp = sqe.lsp;
  const rae = sqe.rae;
  const len = sqe.logPageLength;
  const offset = sqe.lpo;
  if (offset % 4 !== 0) return CommandStatus.InvalidField;

  let log: Buffer;
  if (c.isDiscovery) {
    if (lid !== LogPage.Discovery) return CommandStatus.InvalidLogPage;
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
      case LogPage.AsymmetricNamespaceAccess:
        if (!c.subsystem.anaReporting) return CommandStatus.InvalidLogPage;
        log = anaLog(c, (lsp & 1) === 1);
        break;
      default:
        return CommandStatus.InvalidLogPage;
    }
  }
  if (offset > log.byteLength) return CommandStatus.InvalidField;
  const status = returnData(req, log.subarray(offset), len);
  if (status !== CommandStatus.Success) return status;
  if (!rae) {
    if (lid === LogPage.ChangedNamespaceList) {
      c.changedNs = [];
      c.changedNsOverflow = false;
    }
    c.clearEvent(lid);
  }
  return CommandStatus.Success;
}
