/**
 * Write Zeroes (NVM Command Set 1.0 §3.2.8): SLBA, NLB (no data), DEAC CDW12 bit 25 (deallocate
 * instead: reads still return zeros, DLFEAT 001b), FUA bit 30. MDTS does not apply (WZSL 0).
 */
import { CDW12_DEAC, CDW12_FUA, sqeCdw12 } from '@nvmu/nvme-spec';
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';
import { ioBegin, ioComplete, lookupNamespace, nlbOf, rangeOk, slbaOf } from './common.js';


function zeroDone(req: CoreRequest, status: number): void {
  const ns = req.ns;
  if (status === 0 && req.flushAfterWrite && ns !== undefined) {
    req.flushAfterWrite = false;
    ns.bdev.flush(ioComplete, req);
    return;
  }
  ioComplete(req, status);
}

export function writeZeroes(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const ns = lookupNamespace(ctrlr, req);
  if (typeof ns === 'number') return ns;
  const slba = slbaOf(req);
  const nlb = nlbOf(req);
  if (!rangeOk(ns, slba, nlb)) return CommandStatus.LbaOutOfRange;
  const cdw12 = sqeCdw12(req.sqeView, 0);
  req.flushAfterWrite = (cdw12 & CDW12_FUA) !== 0 || !ctrlr.volatileWriteCacheEnabled;
  ioBegin(ctrlr, ns, req);
  const off = slba * ns.blockSize;
  const len = nlb * ns.blockSize;
  if ((cdw12 & CDW12_DEAC) !== 0) ns.bdev.unmap(off, len, zeroDone, req);
  else ns.bdev.writeZeroes(off, len, zeroDone, req);
  return PENDING;
}
