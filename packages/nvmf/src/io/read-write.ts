/**
 * Read, Write and Compare (NVM Command Set 1.0 §3.2.4, §3.2.6, §3.2.1). CDW10/11 SLBA, CDW12 NLB
 * (15:0, 0's based), FUA (bit 30, Write). Read and Write are the hot path: no allocation.
 */
import { CDW12_FUA, sqeCdw12 } from '@nvmu/nvme-spec';
import { requireController, findController } from '../qpair-controller.js';
import type { Controller } from '../controller.js';
import type { CommandEnv } from '../command-env.js';
import { iovEquals } from '../iov.js';
import type { Namespace } from '../namespace.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';
import { ioBegin, ioComplete, lookupNamespace, nlbOf, rangeOk, slbaOf } from './common.js';


/** Parse step for Read/Write/Compare: namespace, range, transfer size. Returns bytes or a status (negative-free). */
function parse(ctrlr: Controller, req: CoreRequest): Namespace | number {
  const ns = lookupNamespace(ctrlr, req);
  if (typeof ns === 'number') return ns;
  const slba = slbaOf(req);
  const nlb = nlbOf(req);
  if (!rangeOk(ns, slba, nlb)) return CommandStatus.LbaOutOfRange;
  const bytes = nlb * ns.blockSize;
  if (bytes > ctrlr.maxTransferBytes) return CommandStatus.InvalidField; // exceeds MDTS (NVMe Base 2.0 §5.x "Invalid Field")
  if (req.length < bytes) return CommandStatus.DataSglLengthInvalid;
  req.dataBytes = bytes;
  return ns;
}

function readDone(req: CoreRequest, status: number): void {
  if (status === 0) {
    const c = findController(req.core);
    if (c !== undefined) {
      c.readCommands++;
      c.bytesRead += req.dataBytes;
    }
  }
  ioComplete(req, status);
}

function writeDone(req: CoreRequest, status: number): void {
  if (status === 0) {
    const c = findController(req.core);
    if (c !== undefined) {
      c.writeCommands++;
      c.bytesWritten += req.dataBytes;
    }
  }
  ioComplete(req, status);
}

export function read(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const ns = parse(ctrlr, req);
  if (typeof ns === 'number') return ns;
  req.dataLength = req.dataBytes;
  ioBegin(ctrlr, ns, req);
  ns.bdev.readv(req.iov, req.iovcnt, slbaOf(req) * ns.blockSize, req.dataBytes, readDone, req);
  return PENDING;
}

export function write(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const ns = parse(ctrlr, req);
  if (typeof ns === 'number') return ns;
  // With the volatile write cache disabled (Set Features 06h), every write is write-through.
  const fua = (sqeCdw12(req.sqeView, 0) & CDW12_FUA) !== 0 || !ctrlr.volatileWriteCacheEnabled;
  ioBegin(ctrlr, ns, req);
  ns.bdev.writev(req.iov, req.iovcnt, slbaOf(req) * ns.blockSize, req.dataBytes, fua, writeDone, req);
  return PENDING;
}

function compareDone(req: CoreRequest, status: number): void {
  const buf = req.ownData;
  req.ownData = undefined;
  if (status === 0 && buf !== undefined && !iovEquals(req.iov, req.iovcnt, buf, req.dataBytes)) status = CommandStatus.CompareFailure;
  ioComplete(req, status);
}

/** Compare: read the blocks into a buffer (allocated per command: not a hot-path command) and compare. */
export function compare(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const ns = parse(ctrlr, req);
  if (typeof ns === 'number') return ns;
  const buf = Buffer.alloc(req.dataBytes);
  req.ownData = buf;
  ioBegin(ctrlr, ns, req);
  ns.bdev.readv([buf], 1, slbaOf(req) * ns.blockSize, req.dataBytes, compareDone, req);
  return PENDING;
}
