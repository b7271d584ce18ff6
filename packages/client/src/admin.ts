/**
 * Admin commands of the host (NVMe Base 2.0 §5; SPDK's nvme_ctrlr_cmd.c): each a small function
 * over the admin qpair, its fields set through @nvmu/nvme-spec's SqeView names. The controller
 * decides when to send them; these only say how.
 */
import { AdminOpcode, FABRICS_OPCODE, IDENTIFY_DATA_SIZE, LogPageId, DISCOVERY_LOG_ENTRY_SIZE, DISCOVERY_LOG_HEADER_SIZE } from '@nvmu/nvme-spec';
import { NvmeDiscoveryLogChangingError } from './errors.js';
import {
  type DiscoveryLog,
  type DiscoveryLogEntry,
  parseDiscoveryEntry,
  parseDiscoveryHeader,
  withDiscoveryHeader,
} from './identify.js';
import { type CommandResult, type QPair, directionOf } from './qpair.js';

/** Identify (NVMe Base 2.0 §5.17): 4096 bytes for `cns` / `nsid` (/ `cntid`). */
export async function identify(admin: QPair, cns: number, nsid: number, cntid = 0): Promise<Uint8Array> {
  const buf = Buffer.alloc(IDENTIFY_DATA_SIZE);
  await admin.execute(
    (sqe) => {
      sqe.opcode = AdminOpcode.Identify;
      sqe.nsid = nsid;
      sqe.cns = cns;
      sqe.cntid = cntid;
    },
    buf,
    'c2h',
  );
  return buf;
}

/** Set Features (NVMe Base 2.0 §5.27): resolves with CQE DW0/DW1. */
export function setFeatures(admin: QPair, fid: number, cdw11: number, data?: Uint8Array, save = false): Promise<CommandResult> {
  return admin.execute(
    (sqe) => {
      sqe.opcode = AdminOpcode.SetFeatures;
      sqe.fid = fid;
      sqe.sv = save;
      sqe.cdw11 = cdw11 >>> 0;
    },
    data,
    data === undefined ? 'none' : 'h2c',
  );
}

/** Get Features (NVMe Base 2.0 §5.15); `sel` 0 current, 1 default, 2 saved, 3 capabilities. */
export function getFeatures(admin: QPair, fid: number, cdw11 = 0, sel = 0, data?: Uint8Array): Promise<CommandResult> {
  return admin.execute(
    (sqe) => {
      sqe.opcode = AdminOpcode.GetFeatures;
      sqe.fid = fid;
      sqe.sel = sel;
      sqe.cdw11 = cdw11 >>> 0;
    },
    data,
    data === undefined ? 'none' : 'c2h',
  );
}

/**
 * Get Log Page (NVMe Base 2.0 §5.16) into `buf` (a multiple of 4 bytes), from byte `offset`
 * of the log; `rae` keeps the event that pointed at it pending.
 */
export async function getLogPage(admin: QPair, lid: number, buf: Uint8Array, offset = 0, nsid = 0xffffffff, rae = false): Promise<Uint8Array> {
  if (buf.byteLength === 0 || buf.byteLength % 4 !== 0) throw new RangeError('log page buffer must be a non-empty multiple of 4 bytes');
  await admin.execute(
    (sqe) => {
      sqe.opcode = AdminOpcode.GetLogPage;
      sqe.nsid = nsid;
      sqe.lid = lid;
      sqe.rae = rae;
      sqe.numd = buf.byteLength / 4 - 1; // 0's based dwords
      sqe.lpo = offset;
    },
    buf,
    'c2h',
  );
  return buf;
}

/** Keep Alive (NVMe Base 2.0 §5.25). */
export async function keepAlive(admin: QPair): Promise<void> {
  await admin.execute((sqe) => {
    sqe.opcode = AdminOpcode.KeepAlive;
  });
}

/**
 * Asynchronous Event Request (NVMe Base 2.0 §5.2): resolves with CQE DW0 when the controller
 * has an event, which may be never; so it has no timeout.
 */
export async function asyncEventRequest(admin: QPair): Promise<number> {
  const r = await admin.execute(
    (sqe) => {
      sqe.opcode = AdminOpcode.AsyncEventRequest;
    },
    undefined,
    'none',
    { noTimeout: true },
  );
  return r.dw0;
}

/**
 * Sends a command as given: `sqe` is 64 bytes (CID and the data pointer are filled in), `data`
 * goes in the direction the opcode's (or fctype's) low bits say.
 */
export function passthrough(qp: QPair, sqe: Uint8Array, data: Uint8Array | undefined): Promise<CommandResult> {
  if (sqe.byteLength !== 64) return Promise.reject(new RangeError(`an SQE is 64 bytes, got ${sqe.byteLength}`));
  const op = sqe[0] ?? 0;
  const dir = data === undefined ? 'none' : directionOf(op === FABRICS_OPCODE ? (sqe[4] ?? 0) : op);
  return qp.execute(
    (s) => {
      s.buf.set(sqe, s.offset);
      // The transport owns the data pointer and PSDT.
      s.prp1 = 0;
      s.prp2 = 0;
      s.psdt = 0;
    },
    data,
    dir,
  );
}

/**
 * Reads the Discovery Log Page (NVMe Base 2.0 §5.16.1.23) the way libnvme does: the 1024-byte
 * header, then the entries by offset in 4 KiB pieces, then the header again; retries while
 * GENCTR changed in between. The result carries that GENCTR (and RECFMT).
 */
export async function readDiscoveryLog(admin: QPair, maxRetries: number): Promise<DiscoveryLog> {
  const header = (): Promise<Uint8Array> => getLogPage(admin, LogPageId.Discovery, Buffer.alloc(DISCOVERY_LOG_HEADER_SIZE), 0, 0);
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    const before = parseDiscoveryHeader(await header());
    const total = before.numrec * DISCOVERY_LOG_ENTRY_SIZE;
    const log = Buffer.alloc(total);
    for (let off = 0; off < total; off += 4096) {
      const len = Math.min(4096, total - off);
      await getLogPage(admin, LogPageId.Discovery, log.subarray(off, off + len), DISCOVERY_LOG_HEADER_SIZE + off, 0);
    }
    const after = parseDiscoveryHeader(await header());
    if (after.genctr !== before.genctr || after.numrec !== before.numrec) continue;
    const entries: DiscoveryLogEntry[] = [];
    for (let i = 0; i < before.numrec; i++) entries.push(parseDiscoveryEntry(log, i * DISCOVERY_LOG_ENTRY_SIZE));
    return withDiscoveryHeader(entries, after);
  }
  throw new NvmeDiscoveryLogChangingError(maxRetries + 1);
}
