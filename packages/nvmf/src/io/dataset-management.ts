/**
 * Dataset Management (NVM Command Set 1.0 §3.2.3): NR CDW10 7:0 (ranges, 0's based), AD CDW11
 * bit 2 (deallocate). Data: NR+1 range descriptors of 16 bytes (context attributes 3:0, length
 * in LBAs 7:4, SLBA 15:8). Without AD the command is a hint and succeeds. Every range is checked
 * before any is deallocated.
 */
import { DsmRangeView } from '@nvmu/nvme-spec';
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import { copyFromIov } from '../iov.js';
import type { CoreRequest, CoreQPair } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';
import { ioBegin, ioComplete, lookupNamespace } from './common.js';

const AD = 1 << 2;
const RANGE_SIZE = DsmRangeView.SIZE;

function rangeAt(buf: Buffer, i: number): { slba: number; nlb: number } {
  const r = new DsmRangeView(buf, i * RANGE_SIZE);
  return { nlb: r.nlb, slba: Number(r.slbaBig) };
}

/** Deallocate range `req.nextRange`, then the next (callback chain). */
function next(req: CoreRequest, status: number): void {
  const buf = req.ownData;
  const ns = req.ns;
  if (status !== 0 || buf === undefined || ns === undefined || req.nextRange >= req.rangeCount) {
    req.ownData = undefined;
    ioComplete(req, status);
    return;
  }
  const r = rangeAt(buf, req.nextRange);
  req.nextRange++;
  if (r.nlb === 0) {
    next(req, 0);
    return;
  }
  ns.bdev.unmap(r.slba * ns.blockSize, r.nlb * ns.blockSize, next, req);
}

export function datasetManagement(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const ns = lookupNamespace(ctrlr, req);
  if (typeof ns === 'number') return ns;
  const nr = (req.sqe.cdw10 & 0xff) + 1;
  const len = nr * RANGE_SIZE;
  if (req.length < len) return CommandStatus.DataSglLengthInvalid;
  if ((req.sqe.cdw11 & AD) === 0) return CommandStatus.Success;
  const buf = Buffer.alloc(len);
  copyFromIov(req.iov, req.iovcnt, 0, buf, 0, len);
  for (let i = 0; i < nr; i++) {
    const r = rangeAt(buf, i);
    if (r.slba + r.nlb > ns.numBlocks) return CommandStatus.LbaOutOfRange;
  }
  req.ownData = buf;
  req.rangeCount = nr;
  req.nextRange = 0;
  ioBegin(ctrlr, ns, req);
  next(req, 0);
  return PENDING;
}
